/**
 * @module views/agents
 * The agent center: at `/agents` the agents (status, transport, capabilities, load, current tasks) and the tasks
 * (filter, create), kept live by the bus; a task's page at `/agents/tasks/:id` (graph, live step states, answer,
 * cancel, result), loaded only when someone opens one.
 */
import { lazy } from "react";
import { Route, Routes } from "react-router";
import { Page } from "../../components/Page";
import { AgentsPanel } from "./AgentsPanel";
import { useAgentStatus, useLiveAgentCenter } from "./agents-queries";
import { TasksPanel } from "./TasksPanel";

const TaskPage = lazy(() => import("./TaskPage"));

function AgentCenter() {
  useLiveAgentCenter();
  const status = useAgentStatus();
  return (
    <Page title="Agents">
      <AgentsPanel />
      <TasksPanel agents={status.data?.agents ?? []} />
    </Page>
  );
}

export default function AgentsArea() {
  return (
    <Routes>
      <Route index element={<AgentCenter />} />
      <Route path="tasks/:id" element={<TaskPage />} />
    </Routes>
  );
}
