/**
 * @module commands/watch
 * `kai watch`: prints registry events as they happen, one line each (NDJSON with --json), until
 * Ctrl-C. Once connected, the SDK reconnects and resumes from the last revision, so a server restart
 * shows as a warning on stderr, not as a gap in the output. A server that cannot be reached at the
 * start, or a refused token, ends the command with the usual exit code.
 */
import { Command } from "commander";
import type { EventMessage } from "@kai/protocol";
import { KaiApiError, KaiConnectionError } from "@kai/sdk";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { addFilterOptions, filterFromFlags, type FilterFlags } from "../filter-options.js";
import { describeError } from "../describe-error.js";

function eventLine(message: EventMessage): string {
  const suffix = message.reason ? ` (${message.reason})` : "";
  // A `hidden` event carries no record: the service only left this caller's view.
  return `${new Date().toISOString()} ${message.event} ${message.serviceId} ${message.service?.status ?? "-"}${suffix}`;
}

/** The event as the server sent it, minus the stream's framing field. */
function withoutType(message: EventMessage): Omit<EventMessage, "type"> {
  const { type: _type, ...event } = message;
  return event;
}

export function watchCommand(): Command {
  const command = new Command("watch")
    .description("print registry events as they happen (time event id status), until Ctrl-C")
    .option("--from-revision <n>", "replay the events after this revision first", integerOption(0));
  addFilterOptions(command);
  addGlobalOptions(command, { quietShort: false });
  return command.action(async (flags: FilterFlags & { fromRevision?: number }, self: Command) => {
    const { out, client } = contextOf(self);
    const filter = filterFromFlags(flags);
    const kai = client();
    await new Promise<void>((resolve, reject) => {
      let live = false;
      let failed = false;
      const fail = (error: unknown) => {
        failed = true;
        watcher.close();
        reject(error);
      };
      const watcher = kai.watch({
        filter,
        ...(flags.fromRevision !== undefined ? { fromRevision: flags.fromRevision } : {}),
        onSnapshot: (snapshot) => out.info(`watching ${snapshot.services.length} service(s) at revision ${snapshot.revision}${snapshot.reason === "subscribe" ? "" : ` (fresh snapshot: ${snapshot.reason})`}`),
        onResumed: (revision) => out.info(`resumed; live at revision ${revision}`),
        onEvent: (message) => {
          if (out.json) out.jsonLine({ time: new Date().toISOString(), ...withoutType(message) });
          else out.line(eventLine(message));
        },
        onError: (error) => {
          if (failed) return;
          // A credential or filter the server refuses will never start working: stop instead of retrying forever.
          if (error instanceof KaiApiError && (error.code === "unauthorized" || error.code === "forbidden" || error.code === "validation_failed")) return fail(error);
          // Never connected at all: say so with exit 7 rather than retrying silently, so scripts notice.
          if (!live) return fail(error instanceof KaiApiError || error instanceof KaiConnectionError ? error : new KaiConnectionError(error.message));
          // Once live, the SDK reconnects and resumes from its last revision; only report it.
          out.warn(describeError(error).body.error.message);
        },
      });
      watcher.ready.then(
        () => {
          live = true;
        },
        (error: unknown) => {
          if (!failed) fail(error);
        },
      );
      const stop = () => {
        failed = true;
        watcher.close();
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  });
}
