// The gateway's per-service RPM/TPM limits on a node that runs as two instances sharing one PostgreSQL: each
// instance's execution loop (the router's real RouteExecution and ServiceStatsTable, real connector, a real fake
// provider over loopback) asks the node-wide windows before every attempt, so the provider receives the
// service's RPM once in total, not once per instance, and a service whose token minute filled up on one
// instance is skipped (reason tpm) on the other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { ServiceRegistrationSchema, type ChatCompletionRequest, type ServiceRecord } from "@kai/protocol";
import { ApiError } from "../../../src/errors.js";
import type { Principal } from "../../../src/auth/principal.js";
import { SharedServiceWindows } from "../../../src/cluster/limits/service-windows.js";
import type { RateLimits } from "../../../src/cluster/limits/index.js";
import { getConnector } from "../../../src/gateway/connectors/index.js";
import { CredentialResolver } from "../../../src/gateway/router/credentials.js";
import { ModelCatalog } from "../../../src/gateway/router/model-catalog.js";
import { INVOKERS } from "../../../src/gateway/router/operations.js";
import { RouteExecution, attemptsOf, type ExecutionDeps } from "../../../src/gateway/router/route-execution.js";
import { routerOptions } from "../../../src/gateway/router/router-options.js";
import { ServiceDirectory } from "../../../src/gateway/router/service-directory.js";
import { ServiceStatsTable } from "../../../src/gateway/router/service-stats.js";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { LeaseTable } from "../../../src/registry/lease-table.js";
import { RegistryService } from "../../../src/registry/registry-service.js";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import { startOpenAIFake } from "../../gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../../gateway/fakes/fake-server.js";
import { startPostgres, type PostgresServer } from "../../helpers/postgres-server.js";
import { startInstances } from "./instances.js";

const ADMIN: Principal = { tokenId: "tok-admin", owner: "root", scopes: ["admin"], expiresAt: Date.now() + 86_400_000 };
const CHAT: ChatCompletionRequest = { model: "gpt-fake", messages: [{ role: "user", content: "hi" }] };

let postgres: PostgresServer | null = null;
let fake: FakeUpstream;
const calls = () => fake.requests.filter((request) => request.path === "/v1/chat/completions").length;

beforeAll(async () => {
  postgres = await startPostgres();
  fake = await startOpenAIFake();
});
afterAll(async () => {
  await fake.close();
  await postgres?.stop();
});

/** One instance's gateway execution: its own stats table (memory windows, breakers) over the node's shared windows. */
function instanceGateway(limits: RateLimits, store: MemoryStore, feed: ChangeFeed) {
  const logger = pino({ level: "silent" });
  const options = routerOptions({ retries: 0, modelRefreshMs: 0, credentialCacheMs: 0 });
  const credentials = new CredentialResolver({ env: {}, cacheMs: 0 });
  const connectorFor = (provider: string | undefined) => (provider ? getConnector(provider) : undefined);
  const stats = new ServiceStatsTable(options.breaker, options.latencyEwmaAlpha, () => undefined, new SharedServiceWindows(limits, logger));
  const catalog = new ModelCatalog({ directory: new ServiceDirectory(store, feed), connectorFor, credentials, refreshMs: 0 });
  const deps: ExecutionDeps = { options, stats, credentials, catalog, logger, now: Date.now };
  return {
    async chat(record: ServiceRecord) {
      const execution = new RouteExecution(deps, { operation: "chat", capability: "llm_chat", unsafe: false });
      try {
        const candidate = { record: { ...record, models: new Set<string>() }, runtime: stats.get(record.id), connector: connectorFor(record.provider)!, local: true };
        return await execution.run([candidate], async (chosen, context) => {
          const result = await INVOKERS.chat(chosen.connector, CHAT, context)!;
          return { value: result.data, latencyMs: result.latencyMs, ...(result.usage ? { usage: result.usage } : {}) };
        });
      } finally {
        execution.close();
      }
    },
  };
}

async function registry() {
  const logger = pino({ level: "silent" });
  const store = new MemoryStore();
  const feed = new ChangeFeed(await store.currentRevision(), 100, logger);
  const service = new RegistryService({ store, feed, leases: new LeaseTable() });
  const register = async (id: string, rateLimit: { rpm?: number; tpm?: number }) =>
    (await service.register(ADMIN, ServiceRegistrationSchema.parse({ id, name: id, url: fake.url, provider: "openai-compatible", capabilities: ["llm_chat"], rateLimit }))).record;
  return { store, feed, register };
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => new Error("expected a refusal"), (caught: unknown) => caught);
  if (!(error instanceof ApiError)) throw error;
  return error;
}

describe("per-service limits across two gateway instances", () => {
  it("RPM: 2 instances × 8 concurrent requests to a service of rpm 5 → the provider gets exactly 5, the rest 429 with Retry-After", async (context) => {
    if (!postgres) return context.skip();
    const group = await startInstances(2, await postgres.createDatabase("gw"));
    try {
      const { store, feed, register } = await registry();
      const record = await register("rpm-svc", { rpm: 5 });
      const gateways = group.instances.map((instance) => instanceGateway(instance.limits, store, feed));
      fake.requests.length = 0;
      const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => gateways[i % 2]!.chat(record)));
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(5);
      expect(calls()).toBe(5);
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") continue;
        const error = outcome.reason as ApiError;
        expect(error.code).toBe("services_rate_limited");
        expect(Number(error.headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
        expect(Number(error.headers?.["Retry-After"])).toBeLessThanOrEqual(60);
        expect(attemptsOf(error)).toEqual([{ serviceId: "rpm-svc", provider: "openai-compatible", outcome: "skipped", reason: "rpm" }]);
      }
    } finally {
      await group.close();
    }
  });

  it("TPM: tokens answered on one instance fill the shared token minute; the other instance then skips the service", async (context) => {
    if (!postgres) return context.skip();
    const group = await startInstances(2, await postgres.createDatabase("gw"));
    try {
      const { store, feed, register } = await registry();
      // The fake reports 12 tokens per chat completion: two answers (24) fill a minute of 20.
      const record = await register("tpm-svc", { tpm: 20 });
      const [a, b] = group.instances.map((instance) => instanceGateway(instance.limits, store, feed));
      const tokens = group.instances[0]!.limits.counter("svc_tpm", 60_000);
      const tokensReach = async (total: number) => {
        // Tokens are added in the background after the answer: wait until they are counted.
        for (let i = 0; i < 200 && (await tokens.read("tpm-svc")).total < total; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect((await tokens.read("tpm-svc")).total).toBe(total);
      };
      fake.requests.length = 0;
      await a!.chat(record);
      await tokensReach(12);
      await b!.chat(record);
      await tokensReach(24);
      const error = await refusal(a!.chat(record));
      expect(error.code).toBe("services_rate_limited");
      expect(attemptsOf(error)).toEqual([{ serviceId: "tpm-svc", provider: "openai-compatible", outcome: "skipped", reason: "tpm" }]);
      expect((await refusal(b!.chat(record))).code).toBe("services_rate_limited");
      expect(calls()).toBe(2);
    } finally {
      await group.close();
    }
  });
});
