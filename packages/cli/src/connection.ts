/**
 * @module connection
 * Decides which server and token a command uses, and builds the SDK client. Precedence, highest
 * first: flags `--url`/`--token`, environment `KAI_URL`/`KAI_TOKEN`, the stored `kai login`, then the
 * defaults of a local `npm start` (http://127.0.0.1:7070 and ./data/admin.token), so that a fresh
 * checkout needs no setup at all. A stored sign-in session renews itself through the SDK; each rotated
 * refresh token is written back to the login file at once (the previous one is spent).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type KaiClient, type SessionTokens } from "@kai/sdk";
import { CliError, usageError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";
import { deleteStoredLogin, readStoredLogin, storedLoginPath, writeStoredLogin, type StoredSession } from "./stored-login.js";

export const DEFAULT_URL = "http://127.0.0.1:7070";

export interface ConnectionFlags {
  url?: string;
  token?: string;
}

export interface Connection {
  url: string;
  token: string | undefined;
  /** Where the token came from, for messages ("no token: …"). */
  tokenSource: "flag" | "env" | "login" | "session" | "data-dir" | "none";
  /** The stored sign-in session (`tokenSource: "session"`), renewed and saved back by `connect`. */
  session?: StoredSession;
  /** The login file the session is kept in. */
  loginPath?: string;
}

/** The admin token a local server wrote, if this user can read it. */
function localAdminToken(env: NodeJS.ProcessEnv): string | undefined {
  const path = join(env.KAI_DATA_DIR || "./data", "admin.token");
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const explicitUrl = flags.url || env.KAI_URL;
  const explicitToken = flags.token || env.KAI_TOKEN?.trim();
  // The login file is read only when it is needed, so a broken one cannot get in the way of explicit settings.
  const loginPath = storedLoginPath(env);
  const login = explicitUrl && explicitToken ? undefined : readStoredLogin(loginPath);
  const url = explicitUrl || login?.url || DEFAULT_URL;
  checkUrl(url);
  if (flags.token) return { url, token: flags.token, tokenSource: "flag" };
  if (explicitToken) return { url, token: explicitToken, tokenSource: "env" };
  // A stored token belongs to the stored URL; never send it to another server.
  if (login?.url === url && login.session) return { url, token: login.session.accessToken, tokenSource: "session", session: login.session, loginPath };
  if (login?.url === url && login.token) return { url, token: login.token, tokenSource: "login" };
  const local = localAdminToken(env);
  if (local) return { url, token: local, tokenSource: "data-dir" };
  return { url, token: undefined, tokenSource: "none" };
}

export function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`--url: "${url}" is not a URL (expected e.g. ${DEFAULT_URL})`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw usageError(`--url: "${url}" must be an http:// or https:// URL`);
  }
}

/** A client for commands that need a token; fails early with exit 4 when there is none. */
export function connect(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): KaiClient {
  const connection = resolveConnection(flags, env);
  if (connection.token === undefined) {
    throw new CliError(
      "no token: run `kai login`, set KAI_TOKEN, or run next to a server's ./data directory",
      "unauthorized",
      EXIT.unauthorized,
    );
  }
  const { session, loginPath } = connection;
  if (session === undefined || loginPath === undefined) return createClient({ url: connection.url, token: connection.token });
  return createClient({
    url: connection.url,
    token: session.accessToken,
    refreshToken: session.refreshToken,
    accessExpiresAt: session.accessExpiresAt,
    sessionExpiresAt: session.sessionExpiresAt,
    onTokens: saveSession(connection.url, session.username, loginPath),
  });
}

/** Keeps the login file in step with the session: the rotated tokens, or no file once the session is over. */
export function saveSession(url: string, username: string, path: string): (tokens: SessionTokens | null) => void {
  return (tokens) => {
    if (tokens === null) deleteStoredLogin(path);
    else writeStoredLogin({ url, session: { username, ...tokens } }, path);
  };
}
