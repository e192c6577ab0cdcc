/**
 * @module connection
 * Decides which server and token a command uses, and builds the SDK client. Precedence, highest
 * first: flags `--url`/`--token`, environment `KAI_URL`/`KAI_TOKEN`, the stored `kai login`, then the
 * defaults of a local `npm start` (http://127.0.0.1:7070 and ./data/admin.token), so that a fresh
 * checkout needs no setup at all.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type KaiClient } from "@kai/sdk";
import { CliError, usageError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";
import { readStoredLogin, storedLoginPath } from "./stored-login.js";

export const DEFAULT_URL = "http://127.0.0.1:7070";

export interface ConnectionFlags {
  url?: string;
  token?: string;
}

export interface Connection {
  url: string;
  token: string | undefined;
  /** Where the token came from, for messages ("no token: …"). */
  tokenSource: "flag" | "env" | "login" | "data-dir" | "none";
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
  const login = explicitUrl && explicitToken ? undefined : readStoredLogin(storedLoginPath(env));
  const url = explicitUrl || login?.url || DEFAULT_URL;
  checkUrl(url);
  if (flags.token) return { url, token: flags.token, tokenSource: "flag" };
  if (explicitToken) return { url, token: explicitToken, tokenSource: "env" };
  // A stored token belongs to the stored URL; never send it to another server.
  if (login && login.url === url) return { url, token: login.token, tokenSource: "login" };
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
      "no token: set KAI_TOKEN, run `kai login`, or run next to a server's ./data directory",
      "unauthorized",
      EXIT.unauthorized,
    );
  }
  return createClient({ url: connection.url, token: connection.token });
}
