/**
 * @module views/agents/TasksPanel
 * The session's tasks, newest first, filtered by state, each a link to its page (graph, steps, result); more pages
 * on request (keyset cursor). "New task" opens the form for those who may run tasks (`tasks:run`). Kept live by the
 * agent center's bus subscription.
 */
import { useState } from "react";
import { Link } from "react-router";
import { TASK_STATES, type AgentStatus, type TaskState } from "@kai/protocol";
import { useCan } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { DataTable } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { useTaskList } from "./agents-queries";
import { NewTaskForm } from "./NewTaskForm";
import { stateTone } from "./states";

export function TasksPanel({ agents }: { agents: readonly AgentStatus[] }) {
  const canRun = useCan("tasks:run");
  const [state, setState] = useState<TaskState | "">("");
  const [creating, setCreating] = useState(false);
  const list = useTaskList(state);
  const tasks = list.data?.pages.flatMap((page) => page.tasks) ?? [];
  return (
    <Panel title="Tasks">
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <div className="w-48">
          <SelectField label="State" value={state} onChange={(event) => setState(event.target.value as TaskState | "")}>
            <option value="">All</option>
            {TASK_STATES.map((known) => (
              <option key={known} value={known}>
                {known}
              </option>
            ))}
          </SelectField>
        </div>
        {canRun && !creating && (
          <Button look="primary" onClick={() => setCreating(true)}>
            New task
          </Button>
        )}
      </div>
      {creating && (
        <div className="mb-4">
          <NewTaskForm agents={agents} onDone={() => setCreating(false)} />
        </div>
      )}
      <ErrorNotice error={list.error} title="The tasks could not be listed" />
      {list.isPending ? (
        <p className="text-sm">Loading tasks…</p>
      ) : (
        <DataTable
          label="Tasks"
          rows={tasks}
          rowKey={(task) => task.id}
          empty={state ? `No ${state} tasks.` : "No tasks yet."}
          columns={[
            {
              header: "Goal",
              className: "font-medium",
              cell: (task) => (
                <>
                  <Link to={`/agents/tasks/${encodeURIComponent(task.id)}`} className="text-sky-800 underline-offset-2 hover:underline dark:text-sky-300">
                    {task.goal}
                  </Link>
                  <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">{task.id}</span>
                </>
              ),
            },
            { header: "State", cell: (task) => <Badge tone={stateTone(task.state)}>{task.state}</Badge> },
            { header: "Steps", cell: (task) => `${task.steps.filter((step) => step.state === "completed").length} of ${task.steps.length} done` },
            { header: "Created", cell: (task) => <When at={task.createdAt} /> },
          ]}
        />
      )}
      {list.hasNextPage && (
        <Button className="mt-3" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          More tasks
        </Button>
      )}
    </Panel>
  );
}
