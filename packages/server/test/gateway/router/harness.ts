/**
 * @module test/gateway/router/harness
 * A real router over real parts: a RegistryService on the memory store with its change feed, a real vault
 * (development key file, unlocked), real connectors talking to the provider fakes over loopback sockets,
 * and a pino logger whose lines are captured so tests can prove no credential was logged.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { ServiceRegistrationSchema, type ServiceRecord, type ServiceRegistrationInput } from "@kai/protocol";
import type { Principal } from "../../../src/auth/principal.js";
import { ApiError } from "../../../src/errors.js";
import { CapabilityRouter, routerOptions, type ResultEvent, type RouterObserver, type RouterOptions } from "../../../src/gateway/router/index.js";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { LeaseTable } from "../../../src/registry/lease-table.js";
import { RegistryService } from "../../../src/registry/registry-service.js";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import { createVault, type VaultService } from "../../../src/vault/vault-service.js";
import { vaultConfig } from "../../vault/core/harness.js";

const FAR = Date.now() + 86_400_000;
export const ADMIN: Principal = { tokenId: "tok-admin", owner: "root", scopes: ["admin"], expiresAt: FAR };
export const ALICE: Principal = { tokenId: "tok-alice", owner: "alice", scopes: ["services:write", "gateway:invoke"], expiresAt: FAR };
export const BOB: Principal = { tokenId: "tok-bob", owner: "bob", scopes: ["services:write", "gateway:invoke"], expiresAt: FAR };

export interface RouterHarness {
  router: CapabilityRouter;
  registry: RegistryService;
  store: MemoryStore;
  feed: ChangeFeed;
  /** Another router over the same registry (e.g. one started after services registered). */
  newRouter(options?: Partial<RouterOptions>): Promise<CapabilityRouter>;
  vault: VaultService;
  logLines: string[];
  results: ResultEvent[];
  env: Record<string, string | undefined>;
  /** Registers a service (as `owner`, default admin) and returns its record. */
  register(input: Partial<ServiceRegistrationInput> & { url: string }, owner?: Principal): Promise<ServiceRecord>;
  close(): Promise<void>;
}

/** Fast defaults for tests: short backoff and breaker periods, no periodic refresh or probing. */
export const TEST_OPTIONS: Partial<RouterOptions> = {
  deadlineMs: 5_000,
  attemptTimeoutMs: 5_000,
  streamIdleTimeoutMs: 2_000,
  backoff: { initialMs: 5, maxMs: 20 },
  breaker: { failureThreshold: 3, openMs: 300, maxOpenMs: 2_000, probeIntervalMs: 0 },
  modelRefreshMs: 0,
  credentialCacheMs: 0,
};

export async function openRouterHarness(options: Partial<RouterOptions> = {}, env: Record<string, string | undefined> = {}): Promise<RouterHarness> {
  const dir = await mkdtemp(join(tmpdir(), "kai-router-"));
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const store = new MemoryStore();
  const vault = await createVault({ store: store.vaultStore(), dataDir: dir, config: vaultConfig(), logger });
  await vault.init(undefined, { tokenId: "tok-admin", owner: "root", scopes: ["admin"] });
  const feed = new ChangeFeed(await store.currentRevision(), 1000, logger);
  const registry = new RegistryService({ store, feed, leases: new LeaseTable(), vault });
  const results: ResultEvent[] = [];
  const observer: RouterObserver = { onResult: (event) => results.push(event) };
  const router = new CapabilityRouter({ store, feed, vault, env, observer, logger, options: routerOptions({ ...TEST_OPTIONS, ...options }) });
  await router.start();
  let counter = 0;
  return {
    router,
    registry,
    store,
    feed,
    async newRouter(extra = {}) {
      const another = new CapabilityRouter({ store, feed, vault, env, logger, options: routerOptions({ ...TEST_OPTIONS, ...options, ...extra }) });
      await another.start();
      return another;
    },
    vault,
    logLines,
    results,
    env,
    async register(input, owner = ADMIN) {
      counter += 1;
      const parsed = ServiceRegistrationSchema.parse({ name: `svc ${counter}`, provider: "openai-compatible", capabilities: ["llm_chat"], visibility: "public", ...input });
      return (await registry.register(owner, parsed)).record;
    },
    async close() {
      router.stop();
      await vault.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Awaits a rejection with an ApiError of `code` and returns it. */
export async function rejection(promise: Promise<unknown>, code: string): Promise<ApiError> {
  const error = await promise.then(
    () => new Error(`expected ${code}, but it succeeded`),
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiError)) throw error instanceof Error ? error : new Error(String(error));
  if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
  return error;
}

/** A minimal chat request. */
export const chat = (model = "gpt-fake") => ({ model, messages: [{ role: "user" as const, content: "hi" }] });

/** Waits for queued observer microtasks. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Registers two services of `provider` on `h`: `first` (priority 1, at `firstUrl`) preferred over `second` (priority 2),
 * both serving `gpt-fake`, and waits for their model lists. Declared models: a fake's faults also hit its model
 * list, which must not decide the failover tests.
 */
export async function registerPreferredPair(h: RouterHarness, firstUrl: string, secondUrl: string, provider = "openai"): Promise<void> {
  await h.register({ id: "first", url: firstUrl, provider, metadata: { priority: 1, models: ["gpt-fake"] } });
  await h.register({ id: "second", url: secondUrl, provider, metadata: { priority: 2, models: ["gpt-fake"] } });
  await h.router.modelsReady("first");
  await h.router.modelsReady("second");
}
