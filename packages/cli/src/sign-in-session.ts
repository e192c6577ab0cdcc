/**
 * @module sign-in-session
 * What `kai login` and `kai agent-login` share once the server said yes: keep the new session in the login file
 * (0600, written before anything is printed), end the session that file held before (best effort, so that
 * signing in again does not leave a live refresh token behind), and say who is signed in, never printing a token.
 */
import { createClient, type KaiClient, type SessionTokens } from "@kai/sdk";
import type { LoginResponse } from "@kai/protocol";
import { CliError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";
import { readStoredLogin, storedLoginPath, writeStoredLogin, type StoredLogin } from "./stored-login.js";

/** A client without credentials whose sign-in tokens are caught for the login file. */
export function signInClient(url: string): { client: KaiClient; tokens(): SessionTokens | null } {
  let latest: SessionTokens | null = null;
  const client = createClient({ url, onTokens: (tokens) => void (latest = tokens) });
  return { client, tokens: () => latest };
}

/** Ends the session a login file holds (its refresh token), ignoring every failure: it may be long gone. */
async function endPrevious(previous: StoredLogin | undefined): Promise<void> {
  if (previous?.session === undefined) return;
  try {
    await createClient({ url: previous.url, refreshToken: previous.session.refreshToken }).auth.logout();
  } catch {
    // Expired, revoked or unreachable: nothing left to end from here.
  }
}

export async function keepSession(out: Output, url: string, response: LoginResponse, tokens: SessionTokens | null): Promise<void> {
  if (tokens === null) throw new CliError("the server answered without tokens; nothing was stored", "invalid_response", EXIT.unexpected);
  const path = storedLoginPath();
  let previous: StoredLogin | undefined;
  try {
    previous = readStoredLogin(path);
  } catch {
    previous = undefined; // A broken file is replaced.
  }
  writeStoredLogin({ url, session: { username: response.user.username, ...tokens } }, path);
  if (previous?.session?.refreshToken !== tokens.refreshToken) await endPrevious(previous);
  const summary = {
    url,
    user: response.user,
    scopes: response.scopes,
    sessionId: response.sessionId,
    sessionExpiresAt: response.sessionExpiresAt,
    path,
  };
  if (out.json) out.document(summary);
  else {
    const roles = response.user.roles.length > 0 ? response.user.roles.join(", ") : "no roles";
    out.info(`signed in to ${url} as ${response.user.username} (${roles}); session until ${response.sessionExpiresAt}; saved to ${path}`);
  }
}
