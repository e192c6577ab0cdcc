/**
 * @module commands/security
 * `kai security events`: the security log (scope `admin`): sign-ins and their failures, throttling, MFA changes,
 * role changes, session revocations. Newest first; `--before <seq>` pages back.
 */
import { Command } from "commander";
import type { SecurityEvent } from "@kai/protocol";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { cell } from "../output.js";

const HEADERS = ["SEQ", "AT", "TYPE", "OUTCOME", "USER", "ACTOR", "ADDRESS", "DETAILS"];

function eventRow(event: SecurityEvent): string[] {
  const details = Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : "-";
  return [String(event.seq), event.at, event.type, event.outcome, cell(event.username ?? event.userId), cell(event.actor), cell(event.address), details];
}

function eventsCommand(): Command {
  const command = new Command("events")
    .description(`the security log, newest first (admin; table: ${HEADERS.join(" ")})`)
    .option("--limit <n>", "how many events (1-500, default 100)", integerOption(1, 500))
    .option("--before <seq>", "only events older than this one (the `nextBefore` of a previous page)", integerOption(1))
    .option("--type <type>", "only events of this type, e.g. sign_in_failed")
    .option("--user <id>", "only events about this user id");
  addGlobalOptions(command);
  return command.action(async (flags: { limit?: number; before?: number; type?: string; user?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const page = await client().auth.securityEvents({
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      ...(flags.before !== undefined ? { before: flags.before } : {}),
      ...(flags.type !== undefined ? { type: flags.type } : {}),
      ...(flags.user !== undefined ? { userId: flags.user } : {}),
    });
    if (out.json) {
      out.document(page);
      return;
    }
    out.table(HEADERS, page.events.map(eventRow), "no security events");
    if (page.nextBefore !== null) out.info(`older events: --before ${page.nextBefore}`);
  });
}

export function securityCommand(): Command {
  return new Command("security").description("the security log (admin)").addCommand(eventsCommand());
}
