/**
 * @module commands/logs
 * `kai logs tail` (issue 19): the node's recent log lines, then each new one as it is written, until Ctrl-C (scope
 * admin; `GET /api/logs` then `GET /api/logs/stream`). Filters: minimum level, request, task, service, trace, text, time (`--since`) and
 * log (`--log security|agents`), applied
 * by the node. One readable line per log line (`time LEVEL message request key=value…`); with --json the entries as
 * the API gives them, one per line. The lines are the node's in-memory ring, already redacted by its logger: the files
 * under `<dataDir>/logs/` hold the same lines.
 *
 * The node ends a stream when the token it was opened with expires (ten minutes at most): the command opens the next
 * one after the last line it printed, so nothing is printed twice and nothing kept is missed.
 *
 * On a node of several instances the lines are every live instance's (`--this-instance`: only the one answering),
 * each with its instance's name after the level; the stream resumes from the answering instance's own lines.
 * `--instance <name>`: one instance's lines, whichever instance answers (another's are relayed from its next line on,
 * so a reconnect may miss the lines written meanwhile).
 *
 * `kai logs search` (`GET /api/logs/search`): the same filters, and `--until`, over the log files of the instance
 * answering, for lines older than the ring holds (yesterday's trace); it says when the node stopped at its read budget.
 *
 * The filters are checked here first, so that a mistake is a usage error naming the flag (exit 2), not the node's
 * refusal in its query's terms: a level in any case is the same level, an `--until` before `--since` is refused.
 */
import { Command, Option } from "commander";
import { LOG_LEVELS, LOG_NAMES, LogFilterSchema, LogInstanceNameSchema, parseDurationSeconds, TimestampSchema, traceLink, type LogEntry, type LogFilter } from "@kai/protocol";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { usageError } from "../cli-error.js";

interface TailFlags {
  level?: string;
  request?: string;
  task?: string;
  service?: string;
  trace?: string;
  grep?: string;
  since?: string;
  log?: string;
  lines: number;
  follow: boolean;
  thisInstance?: boolean;
  instance?: string;
}

/** A field's value on the line: plain when it is a word, JSON otherwise (so one line stays one line). */
function fieldText(value: unknown): string {
  if (typeof value === "string" && /^[^\s"=]{1,200}$/.test(value)) return value;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** `time LEVEL [@instance] message [request] key=value …` (the instance on a node of several). */
export function logLine(entry: LogEntry): string {
  const fields = Object.entries(entry.fields).map(([key, value]) => `${key}=${fieldText(value)}`);
  const parts = [entry.time, entry.level.toUpperCase().padEnd(5)];
  if (entry.instance !== undefined) parts.push(`@${fieldText(entry.instance)}`);
  parts.push(JSON.stringify(entry.msg).slice(1, -1));
  if (entry.requestId !== undefined) parts.push(`[${entry.requestId}]`);
  return [...parts, ...fields].join(" ");
}

/**
 * `--since`: a duration back from now (`90s`, `10m`, `2h`, `1d`) or a time (ISO 8601, `2026-12-07T10:00:00Z`), as the
 * time the node filters on. Checked here, so a typo is a usage error naming the flag.
 */
function sinceTime(text: string, flag = "--since", now = Date.now()): string {
  const seconds = parseDurationSeconds(text);
  if (seconds !== undefined && seconds > 0) return new Date(now - seconds * 1000).toISOString();
  if (TimestampSchema.safeParse(text).success) return text;
  throw usageError(`${flag}: a duration such as 10m, 2h or 1d, or a time such as 2026-12-07T10:00:00Z (got "${text}")`);
}

/** The flag each of the API's filter fields comes from, for an error that names what the user typed. */
const FILTER_FLAGS: Record<string, string> = {
  level: "--level",
  requestId: "--request",
  taskId: "--task",
  serviceId: "--service",
  traceId: "--trace",
  q: "--grep",
  since: "--since",
  log: "--log",
};

function filterOf(flags: TailFlags): LogFilter {
  const parsed = LogFilterSchema.safeParse({
    // Levels are words: `WARN` as the lines print it is the same level (the node takes lower case only).
    ...(flags.level !== undefined ? { level: flags.level.trim().toLowerCase() } : {}),
    ...(flags.request !== undefined ? { requestId: flags.request } : {}),
    ...(flags.task !== undefined ? { taskId: flags.task } : {}),
    ...(flags.service !== undefined ? { serviceId: flags.service } : {}),
    // Trace ids are hex: one copied from a viewer that shows capitals still names the trace.
    ...(flags.trace !== undefined ? { traceId: flags.trace.trim().toLowerCase() } : {}),
    ...(flags.grep !== undefined ? { q: flags.grep } : {}),
    ...(flags.since !== undefined ? { since: sinceTime(flags.since) } : {}),
    ...(flags.log !== undefined ? { log: flags.log } : {}),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.join(".");
      return `${FILTER_FLAGS[field] ?? (field || "filter")}: ${issue.message}`;
    });
    throw usageError(`invalid filter: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/**
 * `--until` before `--since` finds nothing, and the node would refuse it (exit 6, in its query's terms). Both count back
 * from now, so the usual slip is the durations swapped: `--since 1h --until 2h` for `--since 2h --until 1h`.
 */
function checkWindow(flags: { since?: string; until?: string }, since: string | undefined, until: string | undefined): void {
  if (flags.since === undefined || flags.until === undefined || since === undefined || until === undefined || Date.parse(until) >= Date.parse(since)) return;
  const named = (flag: string, given: string, time: string) => (given === time ? `${flag} ${given}` : `${flag} ${given} (${time})`);
  const durations = since !== flags.since || until !== flags.until;
  throw usageError(
    `${named("--until", flags.until, until)} is before ${named("--since", flags.since, since)}: no line could match; ${
      durations ? "a duration counts back from now, so --since takes the longer one (e.g. --since 2h --until 1h)" : "--since starts the window and --until ends it"
    }`,
  );
}

/** The filters `tail` and `search` share, read by `filterOf`. */
function withFilterOptions(command: Command): Command {
  return command
    .option("--level <level>", `minimum level: ${LOG_LEVELS.join(", ")}`)
    .option("--request <id>", "only this request's lines")
    .option("--task <id>", "only this task's lines (the agent mesh's taskId)")
    .option("--service <id>", "only lines about this registered service (serviceId)")
    .option("--trace <id>", "only the lines of this trace (32 hex digits: an error's trace id, a trace viewer's, a traceresponse header's)")
    .option("--grep <text>", "only lines whose message, request id or fields contain this text (case-insensitive)")
    .option("--since <when>", "only lines written since then: a duration back from now (10m, 2h, 1d) or a time (2026-12-07T10:00:00Z)")
    .addOption(new Option("--log <log>", "only the lines of this log: security (sign-ins, vault access, plugin actions) or agents (the agent mesh), as in <dataDir>/logs/<log>/").choices(LOG_NAMES));
}

/** `--this-instance` / `--instance <name>` as the API's `instances` and `instance`; the two together are a usage error. */
function instanceChoice(flags: Pick<TailFlags, "thisInstance" | "instance">): { instances: "all" | "this"; instance?: string } {
  if (flags.instance !== undefined && flags.thisInstance) throw usageError("--instance and --this-instance cannot be combined: --instance names the instance");
  if (flags.instance !== undefined && !LogInstanceNameSchema.safeParse(flags.instance).success) throw usageError("--instance: an instance name of 1 to 200 characters");
  return { instances: flags.thisInstance ? "this" : "all", ...(flags.instance !== undefined ? { instance: flags.instance } : {}) };
}

function tailCommand(): Command {
  const command = withFilterOptions(new Command("tail").description("print the node's recent log lines, then follow new ones until Ctrl-C (scope admin)"))
    .option("-n, --lines <n>", "recent lines printed first", integerOption(0, 1000), 50)
    .option("--no-follow", "print the recent lines and stop")
    .option("--this-instance", "on a node of several instances: only the lines of the one answering (default: every live instance's)")
    .option("--instance <name>", "only the lines of the live instance of this name (kai cluster lists them), whichever instance answers");
  addGlobalOptions(command);
  return command.action(async (flags: TailFlags, self: Command) => {
    const { out, client } = contextOf(self);
    const filter = filterOf(flags);
    const { instances, ...only } = instanceChoice(flags);
    const print = (entry: LogEntry) => (out.json ? out.jsonLine(entry) : out.line(logLine(entry)));
    const controller = new AbortController();
    const stop = () => controller.abort();
    // Before the first request: a Ctrl-C while the recent lines print still ends cleanly.
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const recent = await client().logs.list({ ...filter, instances, ...only, limit: Math.max(1, flags.lines) }, { signal: controller.signal });
      // Where the trace itself is shown, when the node says (tracing.traceUrl).
      const link = filter.traceId !== undefined && recent.traceUrl !== undefined ? traceLink(recent.traceUrl, filter.traceId) : undefined;
      if (link !== undefined) out.info(`trace ${filter.traceId}: ${link}`);
      for (const entry of flags.lines === 0 ? [] : recent.entries) print(entry);
      // Say what there is none of, as a table does (not for --json: no lines is the answer; nor for -n 0: none asked).
      if (!out.json && flags.lines > 0 && recent.entries.length === 0) out.info(flags.follow ? "no recent log lines match" : "no log lines match");
      if (recent.unanswered && recent.unanswered.length > 0) out.warn(`no lines from ${recent.unanswered.join(", ")}: the instance(s) did not answer in time`);
      if (!flags.follow) return;
      // Lines written after the list: the stream starts after the newest line the node had then.
      let after = recent.latestSeq;
      out.info("following the node's log; Ctrl-C to stop");
      while (!controller.signal.aborted) {
        const stream = await client().logs.stream({ ...filter, instances, ...only, after }, { signal: controller.signal });
        for await (const event of stream) {
          if (event.type === "gap") {
            out.warn(
              event.instance !== undefined
                ? `${event.skipped} line(s) of ${event.instance} skipped (more matching lines than the cluster relays; narrow the filter, or read that instance's own)`
                : `${event.skipped} line(s) skipped (this client fell behind, or the node no longer kept them)`,
            );
            continue;
          }
          // A relayed line's seq counts another instance's lines: the stream resumes from the answering one's.
          if (!event.entry.relayed) after = event.entry.seq;
          print(event.entry);
        }
        // The node ended the stream (the token's time was up, or it is shutting down): open the next one; a node
        // that is gone fails the request, which ends the command with the usual exit code.
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  });
}

function searchCommand(): Command {
  const command = withFilterOptions(new Command("search").description("search the node's log files for the newest matching lines: older lines than tail's (scope admin)"))
    .option("--until <when>", "only lines written until then: a duration back from now or a time")
    .option("-n, --lines <n>", "the newest matching lines printed", integerOption(1, 1000), 200)
    .option("--this-instance", "on a node of several instances: only the files of the one answering (default: every live instance's)")
    .option("--instance <name>", "only the files of the live instance of this name (kai cluster lists them)");
  addGlobalOptions(command);
  return command.action(async (flags: TailFlags & { until?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const filter = filterOf(flags);
    // As --since: `1h` is "until an hour ago".
    const until = flags.until !== undefined ? sinceTime(flags.until, "--until") : undefined;
    checkWindow(flags, filter.since, until);
    const found = await client().logs.search({ ...filter, ...(until !== undefined ? { until } : {}), limit: flags.lines, ...instanceChoice(flags) });
    const link = filter.traceId !== undefined && found.traceUrl !== undefined ? traceLink(found.traceUrl, filter.traceId) : undefined;
    if (link !== undefined) out.info(`trace ${filter.traceId}: ${link}`);
    for (const entry of found.entries) {
      if (out.json) out.jsonLine(entry);
      else out.line(logLine(entry));
    }
    const mib = (found.scannedBytes / (1024 * 1024)).toFixed(1);
    const whose = found.searched ? found.searched.map((each) => each.instance).join(", ") : found.instance;
    out.info(`${found.entries.length} line(s) from the log files of ${whose || "no instance"} (${found.files} file(s), ${mib} MiB read)`);
    if (found.unanswered && found.unanswered.length > 0) out.warn(`no lines from ${found.unanswered.join(", ")}: the instance(s) did not answer in time`);
    if (!found.complete) {
      out.warn(`the search stopped at its read budget: lines before ${found.searchedFrom ?? "the files read"} were not searched (narrow it with --since and --until)`);
    }
  });
}

export function logsCommand(): Command {
  return new Command("logs").description("the node's log lines (the same as the files under <dataDir>/logs/)").addCommand(tailCommand()).addCommand(searchCommand());
}
