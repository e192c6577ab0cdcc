/**
 * @module views/agents/AgentsPanel
 * Every agent and tool the session may see (`client.agents.status()`): status, transport, where it came from,
 * capabilities, load (steps running of its limit) and the tasks it works on now, each a link to the task. Kept
 * live by the agent center's bus subscription. Statuses are words (badges), never colour alone. An agent the node
 * runs itself also says its process's state (`run`; the run-agents table below has the details and buttons).
 */
import { Link } from "react-router";
import { DataTable } from "../../components/DataTable";
import { Badge } from "../../components/Badge";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { toneFor } from "../../components/status-tones";
import { useAgentStatus } from "./agents-queries";
import { RunAgentsTable } from "./RunAgentsTable";

export function AgentsPanel() {
  const status = useAgentStatus();
  const agents = status.data?.agents ?? [];
  return (
    <Panel title="Agents">
      <ErrorNotice error={status.error} title="The agents could not be read" />
      {status.isPending ? (
        <p className="text-sm">Loading agents…</p>
      ) : (
        <DataTable
          label="Agents"
          rows={agents}
          rowKey={(agent) => agent.id}
          empty="No agents yet. Agents register with a signed manifest (kai agent register), or are added by A2A card or MCP server."
          columns={[
            {
              header: "Agent",
              className: "font-medium",
              cell: (agent) => (
                <>
                  <span className="block">{agent.name}</span>
                  {agent.name !== agent.id && <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">{agent.id}</span>}
                </>
              ),
            },
            {
              header: "Status",
              cell: (agent) => (
                <>
                  <Badge tone={toneFor(agent.status)}>{agent.status}</Badge>
                  {agent.run && <span className="block text-xs text-slate-600 dark:text-slate-400">run by the node: {agent.run.state}</span>}
                </>
              ),
            },
            {
              header: "Transport",
              cell: (agent) => (
                <>
                  {agent.transport}
                  {agent.source !== "manifest" && <span className="text-slate-600 dark:text-slate-400"> ({agent.source})</span>}
                </>
              ),
            },
            { header: "Capabilities", className: "font-mono text-xs", cell: (agent) => agent.capabilities.join(", ") },
            {
              header: "Load",
              cell: (agent) => (
                <span aria-label={`${agent.load.running} of ${agent.load.limit} steps running`}>
                  {agent.load.running} / {agent.load.limit}
                </span>
              ),
            },
            {
              header: "Current tasks",
              cell: (agent) =>
                agent.currentTasks.length === 0 ? (
                  <span className="text-slate-600 dark:text-slate-400">none</span>
                ) : (
                  <ul>
                    {agent.currentTasks.map((task) => (
                      <li key={task}>
                        <Link to={`/agents/tasks/${encodeURIComponent(task)}`} className="font-mono text-xs text-sky-800 underline dark:text-sky-300">
                          {task}
                        </Link>
                      </li>
                    ))}
                  </ul>
                ),
            },
            { header: "Last heartbeat", cell: (agent) => <When at={agent.heartbeat} /> },
          ]}
        />
      )}
      <RunAgentsTable />
    </Panel>
  );
}
