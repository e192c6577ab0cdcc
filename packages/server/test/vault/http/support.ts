/**
 * @module test/vault/http/support
 * Small helpers for the vault's HTTP tests: minting tokens with vault scopes and secret patterns, reading
 * a JSON answer with its status, and every byte a server left on disk (database, WAL, logs) as text.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TestServer } from "../../helpers/test-server.js";

/** A passphrase the tests use (PBKDF2 is turned down to 10,000 iterations in their config). */
export const PASSPHRASE = "correct horse battery staple";

/** Vault settings that keep the tests fast: the cheapest KDF the config allows. */
export const FAST_VAULT = { pbkdf2Iterations: 10_000 };

export async function mintVaultToken(server: TestServer, scopes: string[], owner = "alice", secrets?: string[]): Promise<string> {
  const response = await server.request("/api/tokens", { method: "POST", json: { scopes, owner, ...(secrets ? { secrets } : {}) } });
  if (response.status !== 201) throw new Error(`minting a token failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  text: string;
  body: T;
  headers: Headers;
}

/** One request; the body is read as text (kept for leak checks) and parsed when it is JSON. */
export async function call<T = Record<string, unknown>>(server: TestServer, path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Answer<T>> {
  const response = await server.request(path, init);
  const text = await response.text();
  let body: unknown = {};
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
  }
  return { status: response.status, text, body: body as T, headers: response.headers };
}

/** The error code of an answer (undefined when it is not an error body). */
export const codeOf = (answer: Answer): string | undefined => (answer.body as { error?: { code?: string } }).error?.code;

/** Every regular file under `dir` (recursively), read as latin1 so any byte sequence survives. */
export function filesUnder(dir: string): { path: string; text: string }[] {
  if (!existsSync(dir)) return [];
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else if (stat.isFile()) out.push({ path, text: readFileSync(path).toString("latin1") });
  }
  return out;
}
