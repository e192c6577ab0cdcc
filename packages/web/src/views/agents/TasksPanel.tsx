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
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { useTaskList } from "./agents-queries";
import { NewTaskForm } from "./NewTaskForm";
import { stateTone } from "./states";

const CELL = "px-2 py-1.5 align-top";

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
      ) : tasks.length === 0 ? (
        <p className="text-sm">{state ? `No ${state} tasks.` : "No tasks yet."}</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Tasks">
            <thead className="border-b border-slate-200 dark:border-slate-700">
              <tr>
                <th scope="col" className={CELL}>Goal</th>
                <th scope="col" className={CELL}>State</th>
                <th scope="col" className={CELL}>Steps</th>
                <th scope="col" className={CELL}>Created</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((task) => (
                <tr key={task.id} className="border-b border-slate-100 dark:border-slate-800">
                  <th scope="row" className={`${CELL} font-medium`}>
                    <Link to={`/agents/tasks/${encodeURIComponent(task.id)}`} className="text-sky-800 underline-offset-2 hover:underline dark:text-sky-300">
                      {task.goal}
                    </Link>
                    <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">{task.id}</span>
                  </th>
                  <td className={CELL}>
                    <Badge tone={stateTone(task.state)}>{task.state}</Badge>
                  </td>
                  <td className={CELL}>
                    {task.steps.filter((step) => step.state === "completed").length} of {task.steps.length} done
                  </td>
                  <td className={CELL}>
                    <When at={task.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasNextPage && (
        <Button className="mt-3" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          More tasks
        </Button>
      )}
    </Panel>
  );
}
