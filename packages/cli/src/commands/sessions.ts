/**
 * @module commands/sessions
 * `kai sessions list|revoke`: the signed-in user's sessions (each `kai login`, browser or agent sign-in is
 * one), and ending one of them; an admin may revoke anyone's. Revoking the current session signs this CLI out.
 */
import { Command } from "commander";
import type { Session } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { cell } from "../output.js";

export const SESSION_HEADERS = ["ID", "USER", "METHOD", "MFA", "CREATED", "LAST USED", "EXPIRES", "ADDRESS", "STATE"];

function state(session: Session): string {
  if (session.revokedAt !== null) return `revoked${session.revokedReason ? ` (${session.revokedReason})` : ""}`;
  return session.current ? "current" : "active";
}

export function sessionRow(session: Session): string[] {
  return [session.id, session.username, session.method, session.mfa ? "yes" : "no", session.createdAt, session.lastUsedAt, session.expiresAt, cell(session.address), state(session)];
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description(`your sessions (table: ${SESSION_HEADERS.join(" ")})`);
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const sessions = await client().auth.sessions.list();
    if (out.json) out.document({ sessions });
    else out.table(SESSION_HEADERS, sessions.map(sessionRow), "no sessions");
  });
}

function revokeCommand(): Command {
  const command = new Command("revoke").description("end a session: its tokens stop working at once").argument("<id>", "session id (from `kai sessions list`)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().auth.sessions.revoke(id);
    if (out.json) out.document({ id, revoked: true });
    else out.info(`revoked session ${id}`);
  });
}

export function sessionsCommand(): Command {
  return new Command("sessions").alias("session").description("list and revoke sign-in sessions").addCommand(listCommand()).addCommand(revokeCommand());
}
