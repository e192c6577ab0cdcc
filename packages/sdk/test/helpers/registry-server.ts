/**
 * Test helpers: a real registry server on a free loopback port with a fresh data directory, and SDK
 * clients bound to it. Rate limits are off so that tests measure behaviour, not throttling.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@kai/server";
import { createClient, type KaiClient, type ServiceRegistrationInput } from "@kai/sdk";
import type { CreateTokenRequestInput } from "@kai/protocol";

type ServerConfig = NonNullable<Parameters<typeof startServer>[0]>["config"];

export interface RegistryFixture {
  url: string;
  adminToken: string;
  admin: KaiClient;
  dataDir: string;
  /** A client for a freshly minted token. */
  clientWith(scopes: CreateTokenRequestInput["scopes"], owner?: string, options?: { WebSocket?: unknown }): Promise<KaiClient>;
  /** Stops the server and deletes its data directory unless `keepData` (to restart on it). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function startRegistry(config: ServerConfig = {}, where: { dataDir?: string; port?: number } = {}): Promise<RegistryFixture> {
  const dir = where.dataDir ?? mkdtempSync(join(tmpdir(), "kai-sdk-test-"));
  const port = where.port ?? 0;
  const server = await startServer({
    dataDir: dir,
    port,
    host: "127.0.0.1",
    quiet: true,
    env: {},
    config: { rateLimit: { enabled: false }, logging: { file: false }, ...config },
  });
  const admin = createClient({ url: server.url, token: server.adminToken });
  return {
    url: server.url,
    adminToken: server.adminToken,
    admin,
    dataDir: dir,
    async clientWith(scopes, owner = "alice", options = {}) {
      const { token } = await admin.tokens.create({ scopes, owner, ttl: "1h" });
      return createClient({ url: server.url, token, ...options });
    },
    async close(options = {}) {
      await server.close();
      if (!options.keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid registration; tests override what they care about. */
export function definition(id: string, overrides: Partial<ServiceRegistrationInput> = {}): ServiceRegistrationInput & { id: string } {
  return {
    id,
    name: `Service ${id}`,
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
export async function eventually<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
