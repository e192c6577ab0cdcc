/**
 * @module stored-login
 * The login file `kai login` writes: `$KAI_CONFIG_DIR/cli.json` or `~/.config/kai/cli.json`, mode 0600
 * because it holds a credential: an API token (`kai login --with-token`), or a sign-in session (the refresh
 * token that renews it, and the current short-lived access token so that not every command has to refresh).
 * Read back through its schema so a hand-edited file cannot inject odd values. Written to a temporary file
 * and renamed, so that a command interrupted while saving a rotated refresh token never leaves half a file.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { parseJson } from "@kai/protocol";
import { usageError } from "./cli-error.js";

export const StoredSessionSchema = z.object({
  username: z.string().min(1),
  refreshToken: z.string().min(1),
  accessToken: z.string().min(1),
  accessExpiresAt: z.string(),
  sessionExpiresAt: z.string(),
});
export type StoredSession = z.infer<typeof StoredSessionSchema>;

export const StoredLoginSchema = z
  .object({
    url: z.url(),
    /** An API token (the login of `kai login --with-token`). */
    token: z.string().min(1).optional(),
    /** A sign-in session (`kai login` with a password, `kai agent-login`). */
    session: StoredSessionSchema.optional(),
  })
  .refine((login) => (login.token === undefined) !== (login.session === undefined), "holds either a token or a session");
export type StoredLogin = z.infer<typeof StoredLoginSchema>;

export function storedLoginPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.KAI_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "kai");
  return join(dir, "cli.json");
}

/** The stored login, or undefined when there is none. A file that exists but is broken is an error. */
export function readStoredLogin(path = storedLoginPath()): StoredLogin | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const json = parseJson(text);
  const parsed = json.ok ? StoredLoginSchema.safeParse(json.value) : undefined;
  if (!parsed?.success) throw usageError(`the login file ${path} is not valid; run \`kai login\` again or delete it`);
  return parsed.data;
}

export function writeStoredLogin(login: StoredLogin, path = storedLoginPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only when the file is created (and umask may narrow it): say it once more.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Forgets the stored login (after `kai logout`, or when the server says the session is over). */
export function deleteStoredLogin(path = storedLoginPath()): void {
  rmSync(path, { force: true });
}
