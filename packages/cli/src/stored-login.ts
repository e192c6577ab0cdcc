/**
 * @module stored-login
 * The login file `kai login` writes: `$KAI_CONFIG_DIR/cli.json` or `~/.config/kai/cli.json`, mode 0600
 * because it holds a token. Read back through its schema so a hand-edited file cannot inject odd values.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { parseJson } from "@kai/protocol";
import { usageError } from "./cli-error.js";

export const StoredLoginSchema = z.object({
  url: z.url(),
  token: z.string().min(1),
});
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
  writeFileSync(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only when the file is created; an older file may be more open.
  chmodSync(path, 0o600);
}
