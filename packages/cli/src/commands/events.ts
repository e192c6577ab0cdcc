/**
 * @module commands/events
 * `kai events tail` (issue 16): prints the orchestration bus's events as they happen (one line each; NDJSON with
 * --json) until Ctrl-C, filtered by type, task and agent (scope `agents:read`). `--task` with `--after N` replays
 * the task's stored events after N first. The SDK reconnects by itself: a task stream resumes after its last seq
 * with nothing missed; any other stream resumes from "now", and the warning on stderr says events may be missed.
 * A server that cannot be reached at the start, or a refused token or filter, ends it with the usual exit code.
 */
import { Command } from "commander";
import { BusEventFilterSchema, BUS_EVENT_TYPES, type BusEvent } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf, integerOption } from "../command-kit.js";
import { usageError } from "../cli-error.js";

interface TailFlags {
  type?: string[];
  task?: string;
  agent?: string;
  after?: number;
}

/** `time TYPE task:seq agent payload` — the payload compact, cut to keep one event on one line. */
export function eventLine(event: BusEvent): string {
  const where = event.taskId !== undefined ? `${event.taskId}${event.seq !== undefined ? `:${event.seq}` : ""}` : "-";
  const payload = JSON.stringify(event.payload);
  return `${event.timestamp} ${event.type} ${where} ${event.agent ?? "-"} ${payload.length > 200 ? `${payload.slice(0, 199)}…` : payload}`;
}

function tailCommand(): Command {
  const command = new Command("tail")
    .description("print bus events as they happen (time type task:seq agent payload), until Ctrl-C")
    .option("--type <type>", `only these types (repeatable or comma-separated): ${BUS_EVENT_TYPES.join(", ")}`, collectList)
    .option("--task <id>", "only this task's events")
    .option("--agent <id>", "only events about or from this agent")
    .option("--after <seq>", "with --task: replay the task's events after this seq first", integerOption(0));
  addGlobalOptions(command, { quietShort: false });
  return command.action(async (flags: TailFlags, self: Command) => {
    const { out, client } = contextOf(self);
    if (flags.after !== undefined && flags.task === undefined) throw usageError("--after needs --task (sequence numbers are per task)");
    const parsed = BusEventFilterSchema.safeParse({
      ...(flags.type ? { type: flags.type } : {}),
      ...(flags.task !== undefined ? { task: flags.task } : {}),
      ...(flags.agent !== undefined ? { agent: flags.agent } : {}),
      ...(flags.after !== undefined ? { after: flags.after } : {}),
    });
    if (!parsed.success) throw usageError(`invalid filter: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "filter"}: ${issue.message}`).join("; ")}`);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const stream = await client().events.stream(parsed.data, { signal: controller.signal });
      out.info(`following the bus${flags.task !== undefined ? ` for task ${flags.task}` : ""}; Ctrl-C to stop`);
      for await (const item of stream) {
        if (item.type === "event") {
          if (out.json) out.jsonLine(item.event);
          else out.line(eventLine(item.event));
          continue;
        }
        const { notice } = item;
        const why = notice.reason === "slow_consumer" ? "this client fell behind" : "the connection ended";
        if (controller.signal.aborted) break;
        out.warn(flags.task !== undefined ? `${why}; resuming after seq ${notice.lastSeq ?? 0}, nothing missed` : `${why}; reconnecting (events in between may be missed)`);
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  });
}

export function eventsCommand(): Command {
  return new Command("events").description("the orchestration bus: task progress, agent results, registry changes").addCommand(tailCommand());
}
