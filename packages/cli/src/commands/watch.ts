/**
 * @module commands/watch
 * `kai watch`: prints registry events as they happen, one line each (NDJSON with --json), until
 * Ctrl-C. The SDK reconnects and resumes from the last revision, so a server restart shows as a
 * message on stderr, not as a gap in the output.
 */
import { Command } from "commander";
import type { EventMessage } from "@kai/protocol";
import { KaiApiError } from "@kai/sdk";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { addFilterOptions, filterFromFlags, type FilterFlags } from "../filter-options.js";
import { describeError } from "../cli-error.js";

function eventLine(message: EventMessage): string {
  const suffix = message.reason ? ` (${message.reason})` : "";
  return `${new Date().toISOString()} ${message.event} ${message.service.id} ${message.service.status}${suffix}`;
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
      let fatal: unknown;
      const watcher = kai.watch({
        filter,
        ...(flags.fromRevision !== undefined ? { fromRevision: flags.fromRevision } : {}),
        onSnapshot: (snapshot) => out.info(`watching ${snapshot.services.length} service(s) at revision ${snapshot.revision}${snapshot.reason === "subscribe" ? "" : ` (fresh snapshot: ${snapshot.reason})`}`),
        onResumed: (revision) => out.info(`resumed; live at revision ${revision}`),
        onEvent: (message) => {
          if (out.json) out.jsonLine({ time: new Date().toISOString(), event: message.event, revision: message.revision, service: message.service, ...(message.reason ? { reason: message.reason } : {}) });
          else out.line(eventLine(message));
        },
        onStateChange: (state) => {
          if (state === "reconnecting") out.info("connection lost; reconnecting…");
        },
        onError: (error) => {
          // A credential the server refuses will never start working: stop instead of retrying forever.
          if (error instanceof KaiApiError && (error.code === "unauthorized" || error.code === "forbidden" || error.code === "validation_failed")) {
            fatal = error;
            watcher.close();
            reject(error);
            return;
          }
          out.warn(describeError(error).body.error.message);
        },
      });
      const stop = () => {
        watcher.close();
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      watcher.ready.catch((error: unknown) => reject(fatal ?? error));
    });
  });
}
