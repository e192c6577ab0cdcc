/**
 * @module commands/logout
 * `kai logout`: ends the stored session on the server (its refresh token is useless from then on) and deletes
 * the login file; a stored API token is only forgotten here (revoke it with `kai token revoke`).
 * `kai whoami`: who the current credentials are (`GET /api/auth/validate`): user, roles, scopes, until when.
 */
import { Command } from "commander";
import { createClient, isAuthError, KaiConnectionError } from "@kai/sdk";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { formatKeyValues, listCell } from "../output.js";
import { deleteStoredLogin, readStoredLogin, storedLoginPath } from "../stored-login.js";

export function logoutCommand(): Command {
  const command = new Command("logout").description("end the stored session on the server and delete the login file");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out } = contextOf(self);
    const path = storedLoginPath();
    const login = readStoredLogin(path);
    if (login === undefined) {
      if (out.json) out.document({ loggedOut: false, path });
      else out.info("not logged in");
      return;
    }
    let ended = false;
    if (login.session !== undefined) {
      try {
        await createClient({ url: login.url, refreshToken: login.session.refreshToken }).auth.logout();
        ended = true;
      } catch (error) {
        // The local copy goes in any case: the person asked to be signed out on this machine.
        if (isAuthError(error)) out.info("the session had already ended on the server");
        else if (error instanceof KaiConnectionError) out.warn(`could not reach ${login.url} to end the session there (${error.message}); it ends when it expires`);
        else throw error;
      } finally {
        deleteStoredLogin(path);
      }
    } else {
      deleteStoredLogin(path);
    }
    if (out.json) out.document({ loggedOut: true, url: login.url, sessionEnded: ended, path });
    else out.info(login.session !== undefined ? `signed out of ${login.url}${ended ? "" : " (here only)"}` : `forgot the token for ${login.url} (it still works until revoked)`);
  });
}

export function whoamiCommand(): Command {
  const command = new Command("whoami").description("who the current credentials are: user, roles, scopes, expiry");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const me = await client().auth.validate();
    if (out.json) {
      out.document(me);
      return;
    }
    out.line(
      formatKeyValues([
        ["user", me.user ? `${me.user.username} (${me.user.kind})` : "-"],
        ["owner", me.owner],
        ["roles", listCell(me.user?.roles)],
        ["scopes", listCell(me.scopes)],
        ["via", me.via],
        ["session", me.sessionId ?? "-"],
        ["expires", me.expiresAt],
      ]).trimEnd(),
    );
  });
}
