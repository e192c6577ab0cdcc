/**
 * @module commands/agent-run
 * `kai agent start|stop <id>` and `kai agent runs` (issue 16, seed 002): the agents the node runs itself (`agents.run`
 * in its config, or added by an admin). `start` answers once the process is spawned; `stop` once it has exited
 * (SIGTERM, SIGKILL after its grace) and it stays stopped until started again. Scope `agents:write` (admins, or the
 * user the run-agent's spec names as owner); `runs` needs `agents:read`.
 */
import { Command } from "commander";
import type { AgentRunState } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { cell } from "../output.js";

const RUN_HEADERS = ["ID", "STATE", "PID", "RESTARTS", "LAST EXIT", "SINCE"];

/** `code 3`, `SIGKILL`, or `-`. */
export function exitCell(state: AgentRunState): string {
  if (!state.lastExit) return "-";
  return state.lastExit.signal ?? `code ${String(state.lastExit.code)}`;
}

function runRow(state: AgentRunState): string[] {
  return [state.id, state.state, cell(state.pid), String(state.restarts), exitCell(state), state.since];
}

function describe(state: AgentRunState): string {
  const pid = state.pid !== null ? ` (pid ${state.pid})` : "";
  const why = state.error ? `: ${state.error}` : "";
  return `agent ${state.id} is ${state.state}${pid}${why}`;
}

function runAction(verb: "start" | "stop"): Command {
  const command = new Command(verb)
    .description(verb === "start" ? "start an agent the node runs itself (answers once its process is spawned)" : "stop an agent the node runs itself (SIGTERM, SIGKILL after its grace); not restarted until started again")
    .argument("<id>", "the agent's id (kClass:name)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const state = verb === "start" ? await client().agents.start(id) : await client().agents.stop(id);
    if (out.json) out.document(state);
    else out.info(describe(state));
  });
}

export function startAgentCommand(): Command {
  return runAction("start");
}

export function stopAgentCommand(): Command {
  return runAction("stop");
}

export function runsCommand(): Command {
  const command = new Command("runs").description("the agents the node runs itself: state, pid, restarts, last exit");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const runs = await client().agents.runs();
    if (out.json) out.document({ agents: runs });
    else out.table(RUN_HEADERS, runs.map(runRow), "the node runs no agents itself");
  });
}
