/**
 * Starts a real server on a free loopback port with a fresh data directory, and gives tests a small
 * fetch helper bound to it. Every log line is captured so tests can check what was (not) logged.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startServer, type RunningServer, type StartServerOptions } from "../../src/index.js";

export interface TestServer extends RunningServer {
  dataDir: string;
  logs: string[];
  /** fetch relative to the server, with the admin token unless `token` is given (null = no Authorization). */
  request(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  /** Stops the server and deletes its data directory. */
  dispose(): Promise<void>;
}

export async function startTestServer(options: StartServerOptions & { keepDataDir?: string } = {}): Promise<TestServer> {
  const dataDir = options.keepDataDir ?? mkdtempSync(join(tmpdir(), "kai-test-"));
  const logs: string[] = [];
  const capture = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const server = await startServer({
    port: 0,
    host: "127.0.0.1",
    quiet: true,
    ...options,
    dataDir,
    logDestination: capture,
    config: { logging: { file: true, level: "info" }, ...(options.config ?? {}) },
    env: options.env ?? {},
  });
  const request: TestServer["request"] = (path, init = {}) => {
    const { token, json, headers, ...rest } = init;
    const allHeaders = new Headers(headers);
    const bearer = token === undefined ? server.adminToken : token;
    if (bearer !== null) allHeaders.set("authorization", `Bearer ${bearer}`);
    if (json !== undefined) allHeaders.set("content-type", "application/json");
    return fetch(server.url + path, { ...rest, headers: allHeaders, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
  return {
    ...server,
    dataDir,
    logs,
    request,
    async dispose() {
      await server.close();
      if (!options.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Mints a token with the given scopes through the API. */
export async function mintToken(server: TestServer, scopes: string[], owner = "alice"): Promise<string> {
  const response = await server.request("/api/tokens", { method: "POST", json: { scopes, owner } });
  if (response.status !== 201) throw new Error(`minting a token failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** A valid registration body; override what the test cares about. */
export function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "Test service",
    type: "service",
    provider: "openai",
    capabilities: ["llm_chat"],
    tags: ["test"],
    url: "http://127.0.0.1:9/",
    visibility: "public",
    ...overrides,
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
