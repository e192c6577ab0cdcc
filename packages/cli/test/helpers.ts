/**
 * @module test/helpers
 * Runs the BUILT `kai` binary as a child process against a real server started in this process,
 * each run in an empty working directory with its own config dir, so that no login, ./data/admin.token
 * or KAI_* variable of the developer's shell can leak into a test.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, vi } from "vitest";
import { startServer, type StartServerOptions } from "@kai/server";
import { createClient } from "@kai/sdk";
import type { Scope } from "@kai/protocol";

// Every test here starts the CLI as a process, several times: a second or more each on a shared 2-core machine
// (Node's start and the module graph). The default 20 s guard catches a hang, not this; a longer one still does.
vi.setConfig({ testTimeout: 60_000 });

export const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));

export interface KaiResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A temp dir used as cwd and config dir, and an environment without any KAI_* variable. */
export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "kai-cli-test-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("KAI_")) env[key] = value;
  env.KAI_CONFIG_DIR = join(dir, "config");
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function spawnKai(args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { env: options.env, cwd: options.cwd, stdio: "pipe" });
}

/** Runs `kai args…` to completion. `input` is written to stdin (which is then closed). */
export function runKai(args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; input?: string }): Promise<KaiResult> {
  const child = spawnKai(args, options);
  const result = resultOf(child);
  child.stdin.end(options.input ?? "");
  return result;
}

/** A child's exit code and everything it wrote, once it has closed. */
export function resultOf(child: ChildProcess): Promise<KaiResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the text seen so far once `pattern` appears in the stream; rejects after `timeoutMs`. */
export function waitForOutput(stream: NodeJS.ReadableStream, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      stream.off("data", onData);
      reject(new Error(`timed out waiting for ${pattern}; saw: ${seen}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        stream.off("data", onData);
        resolve(seen);
      }
    };
    stream.on("data", onData);
  });
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on("exit", (code) => resolve(code));
  });
}

/** A free port for `kai serve --port`, whose URL must be known in advance (chosen outside the OS's ephemeral range). */
export { freePort } from "../../server/test/helpers/server-process.js";

export interface TestServer {
  url: string;
  adminToken: string;
  /** The server's data directory (the first admin's one-time password is in it). */
  dataDir: string;
  close(): Promise<void>;
}

/** A real server on a real socket with its own SQLite database in a temp dir. */
export async function startTestServer(config: StartServerOptions["config"] = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "kai-cli-server-"));
  const server = await startServer({ dataDir, port: 0, host: "127.0.0.1", quiet: true, config });
  return {
    url: server.url,
    adminToken: server.adminToken,
    dataDir,
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Signs the server's first admin in with the one-time password it wrote at its first start (choosing
 * `newPassword`, as the server requires): an SDK client holding that session, for a test's setup.
 */
export async function signInFirstAdmin(server: TestServer, newPassword = "the admin's new password"): Promise<ReturnType<typeof createClient>> {
  const oneTime = readFileSync(join(server.dataDir, "first-admin.password"), "utf8").trim();
  const admin = createClient({ url: server.url });
  await admin.auth.login({ username: "admin", password: oneTime, newPassword });
  return admin;
}

/** What `useCliNode` gives a test file: its node, its sandbox, the owner's token, and `kai` run as that owner. */
export interface CliNode {
  readonly server: TestServer;
  readonly box: Sandbox;
  /** A token of the fixture's scopes for its owner. */
  readonly token: string;
  /** `kai --url <node> args…` in the sandbox, as the owner (or with `token`); `input` goes to stdin. */
  kai(args: string[], options?: { input?: string; token?: string }): Promise<KaiResult>;
}

/**
 * The usual fixture of a command's test file: a node started before its tests (rate limits off: many quick calls),
 * an empty sandbox, and a token of `scopes` for `owner` minted by the admin; all of it stopped after the tests.
 * Read its fields inside tests or hooks (they are set by `beforeAll`).
 */
export function useCliNode(options: { scopes: Scope[]; owner?: string; config?: StartServerOptions["config"] }): CliNode {
  let server: TestServer | undefined;
  let box: Sandbox | undefined;
  let token: string | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useCliNode: the ${what} is not ready (read it inside a test or hook)`);
    return value;
  };
  beforeAll(async () => {
    server = await startTestServer({ rateLimit: { enabled: false }, ...options.config });
    box = sandbox();
    const admin = createClient({ url: server.url, token: server.adminToken });
    token = (await admin.tokens.create({ scopes: options.scopes, owner: options.owner ?? "alice", ttl: "1h" })).token;
  });
  afterAll(async () => {
    await server?.close();
    box?.cleanup();
  });
  return {
    get server() {
      return ready(server, "node");
    },
    get box() {
      return ready(box, "sandbox");
    },
    get token() {
      return ready(token, "token");
    },
    kai(args, { input, token: as } = {}) {
      const { dir, env } = ready(box, "sandbox");
      return runKai(["--url", ready(server, "node").url, ...args], { cwd: dir, env: { ...env, KAI_TOKEN: as ?? ready(token, "token") }, ...(input !== undefined ? { input } : {}) });
    },
  };
}
