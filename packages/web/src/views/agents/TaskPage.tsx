/**
 * @module views/agents/TaskPage
 * One task at `/agents/tasks/:id`: its state, the plan's graph with each step's live state (from the task's event
 * stream, resumed without gaps), the steps table (the graph's text alternative), the selected step's details, the
 * question to answer when it is input-required, cancel while unfinished, the result or the error, and the events
 * seen on this page. Its trace (when the node traces) and, for admins, links to its log lines in the Console (by the
 * task's id, and by its trace: the steps' calls to agents and the gateway too).
 */
import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { TERMINAL_TASK_STATES, type StepState, type Task } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Page, Panel } from "../../components/Page";
import { When } from "../../components/When";
import { agentKeys } from "./agents-queries";
import { AnswerForm } from "./AnswerForm";
import { layoutPlan } from "./plan-layout";
import { PlanGraph } from "./PlanGraph";
import { stateTone } from "./states";
import { JsonBlock, ReviewDetails, StepDetails, StepsTable } from "./StepsTable";
import { useTaskStream } from "./use-task-stream";

export default function TaskPage() {
  const { id = "" } = useParams();
  const client = useClient();
  const task = useQuery({ queryKey: agentKeys.task(id), queryFn: () => client.tasks.get(id) });
  return (
    <Page title={task.data ? `Task: ${task.data.goal}` : "Task"} actions={<Link to="/agents" className="text-sm text-sky-800 underline dark:text-sky-300">All agents and tasks</Link>}>
      <ErrorNotice error={task.error} title="The task could not be read" />
      {task.isPending && <p className="text-sm">Loading the task…</p>}
      {task.data && <TaskView task={task.data} />}
    </Page>
  );
}

function TaskView({ task }: { task: Task }) {
  const client = useClient();
  const queries = useQueryClient();
  const canRun = useCan("tasks:run");
  // The Console is for admins (the node's log lines).
  const canReadLogs = useCan("admin");
  const finished = TERMINAL_TASK_STATES.includes(task.state);
  // The first read's lastSeq: the stream starts there and resumes by itself.
  const [startAfter] = useState(task.lastSeq);
  const stream = useTaskStream(task.id, startAfter, finished);
  const [selected, setSelected] = useState<string>();
  const [confirming, setConfirming] = useState(false);
  const cancel = useMutation({
    mutationFn: () => client.tasks.cancel(task.id),
    onSuccess: (canceled) => {
      setConfirming(false);
      queries.setQueryData(agentKeys.task(task.id), canceled);
    },
  });
  const layout = useMemo(() => {
    const newer = new Map<string, StepState>();
    for (const [step, known] of stream.states) if (known.seq > task.lastSeq) newer.set(step, known.state);
    return layoutPlan(task, newer);
  }, [task, stream.states]);
  const selectedRun = task.steps.find((run) => run.id === selected);

  return (
    <div className="space-y-4">
      <Panel>
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
          <dt>State</dt>
          <dd>
            <Badge tone={stateTone(task.state)}>{task.state}</Badge>
            {stream.reconnecting && <span className="ml-2 text-slate-600 dark:text-slate-400">reconnecting…</span>}
          </dd>
          <dt>Task</dt>
          <dd className="font-mono text-xs">{task.id}</dd>
          {task.planId && (
            <>
              <dt>Plan</dt>
              <dd className="font-mono text-xs">{task.planId}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>
            <When at={task.createdAt} />
          </dd>
          <dt>Updated</dt>
          <dd>
            <When at={task.updatedAt} />
          </dd>
          {task.traceId && (
            <>
              <dt>Trace</dt>
              <dd className="font-mono text-xs">{task.traceId}</dd>
            </>
          )}
        </dl>
        {canReadLogs && (
          <p className="mt-2 text-sm">
            <Link to={`/console?taskId=${encodeURIComponent(task.id)}`} className="text-sky-800 underline dark:text-sky-300">
              Log lines of this task
            </Link>
            {task.traceId && (
              <>
                {" · "}
                <Link to={`/console?traceId=${task.traceId}`} className="text-sky-800 underline dark:text-sky-300">
                  Log lines of its trace
                </Link>
              </>
            )}
          </p>
        )}
        {canRun && !finished && (
          <Button look="danger" className="mt-3" onClick={() => setConfirming(true)}>
            Cancel task
          </Button>
        )}
        <ErrorNotice error={cancel.error} title="The task was not canceled" />
      </Panel>

      {task.state === "input-required" && task.question && canRun && <AnswerForm task={task} question={task.question} />}

      <Panel title="Plan">
        <PlanGraph layout={layout} runs={task.steps} selected={selected} onSelect={setSelected} />
        <div className="mt-3">
          <StepsTable steps={layout.steps} runs={task.steps} selected={selected} onSelect={setSelected} />
        </div>
        {selectedRun && (
          <div className="mt-3">
            <StepDetails run={selectedRun} />
          </div>
        )}
      </Panel>

      {task.state === "completed" && (
        <Panel title="Result">
          <JsonBlock label="Result" value={task.result ?? null} />
        </Panel>
      )}
      {task.review && (
        <Panel title="Review of the result">
          <ReviewDetails review={task.review} />
        </Panel>
      )}
      {task.error && (
        <Panel title="Error">
          <p className="text-sm">
            <code>{task.error.code}</code>: {task.error.message}
          </p>
        </Panel>
      )}

      {stream.events.length > 0 && (
        <Panel title="Events">
          <ol className="space-y-1 font-mono text-xs" aria-label="Events of this task">
            {stream.events.map((event) => (
              <li key={event.id}>
                #{event.seq} {event.type} {event.agent ?? ""} {typeof event.payload.step === "string" ? `step ${event.payload.step}` : ""}{" "}
                {typeof event.payload.stepState === "string" ? event.payload.stepState : typeof event.payload.state === "string" ? event.payload.state : ""}
              </li>
            ))}
          </ol>
        </Panel>
      )}

      <ConfirmDialog open={confirming} title="Cancel this task?" confirmLabel="Cancel task" busy={cancel.isPending} onConfirm={() => cancel.mutate()} onCancel={() => setConfirming(false)}>
        The steps running now are stopped (the agents are told); steps not started never run.
      </ConfirmDialog>
    </div>
  );
}
