/**
 * @module views/agents/RunAgentsTable
 * The agents this node runs itself (`agents.run`, issue 16): each one's run state (running, backoff, crashed,
 * stopped; process id, restarts in a row, how it last ended) with a Start or Stop button. Shown in the agents panel
 * only when the node runs agents the session may see (admins: all; others: those naming them as owner). A run-agent
 * that is stopped has no registry record, so it is not in the agents table above: this is where it is started.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { AgentRunState } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import type { Tone } from "../../components/Badge";
import { Button } from "../../components/Button";
import { DataTable } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { agentKeys } from "./agents-queries";

const RUNS_KEY = ["agents", "runs"] as const;
/** Restarts and crashes happen without an event on the bus: read again this often. */
const RUNS_REFRESH_MS = 5_000;
const TONES: Record<AgentRunState["state"], Tone> = { running: "good", starting: "warn", backoff: "warn", crashed: "bad", stopped: "neutral" };

function lastExit(state: AgentRunState): string {
  if (!state.lastExit) return "never ran";
  return state.lastExit.signal ? `killed (${state.lastExit.signal})` : `exit code ${String(state.lastExit.code)}`;
}

export function RunAgentsTable() {
  const client = useClient();
  const queries = useQueryClient();
  const runs = useQuery({ queryKey: RUNS_KEY, queryFn: () => client.agents.runs(), refetchInterval: RUNS_REFRESH_MS });
  const action = useMutation({
    mutationFn: ({ id, verb }: { id: string; verb: "start" | "stop" }) => (verb === "start" ? client.agents.start(id) : client.agents.stop(id)),
    onSuccess: (state) => {
      queries.setQueryData<AgentRunState[]>(RUNS_KEY, (old) => old?.map((run) => (run.id === state.id ? state : run)));
      void queries.invalidateQueries({ queryKey: agentKeys.status });
    },
  });
  const list = runs.data ?? [];
  if (list.length === 0) return null;
  return (
    <section aria-labelledby="run-agents-heading" className="mt-4">
      <h3 id="run-agents-heading" className="mb-2 text-sm font-semibold text-slate-800 dark:text-slate-200">
        Agents this node runs
      </h3>
      <ErrorNotice error={action.error} title="The agent could not be started or stopped" />
      <DataTable
        label="Agents this node runs"
        rows={list}
        rowKey={(run) => run.id}
        empty="This node runs no agents."
        columns={[
          { header: "Agent", className: "font-mono text-xs font-medium", cell: (run) => run.id },
          {
            header: "State",
            cell: (run) => (
              <>
                <Badge tone={TONES[run.state]}>{run.state}</Badge>
                {run.error && <span className="block text-xs text-slate-600 dark:text-slate-400">{run.error}</span>}
              </>
            ),
          },
          { header: "Process", cell: (run) => (run.pid === null ? <span className="text-slate-600 dark:text-slate-400">none</span> : `pid ${run.pid}`) },
          { header: "Restarts", cell: (run) => run.restarts },
          { header: "Last exit", cell: lastExit },
          {
            header: "Action",
            cell: (run) => {
              const up = run.state === "running" || run.state === "starting" || run.state === "backoff";
              return (
                <Button look={up ? "danger" : "primary"} busy={action.isPending && action.variables.id === run.id} aria-label={`${up ? "Stop" : "Start"} ${run.id}`} onClick={() => action.mutate({ id: run.id, verb: up ? "stop" : "start" })}>
                  {up ? "Stop" : "Start"}
                </Button>
              );
            },
          },
        ]}
      />
    </section>
  );
}
