// KLP's per-sender budget (rule 7) on a node that runs as two instances: both are one KLP node (one DID, one
// registry) and count a sender's messages in the same PostgreSQL, so the sender gets its budget once in total,
// not once per instance. Real KlpNodes over a real registry; messages are real signed envelopes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { klp } from "@kai/protocol";
import { KlpNode } from "../../../src/klp/klp-node.js";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { LeaseTable } from "../../../src/registry/lease-table.js";
import { RegistryService } from "../../../src/registry/registry-service.js";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import type { RateLimits } from "../../../src/cluster/limits/index.js";
import { startPostgres, type PostgresServer } from "../../helpers/postgres-server.js";
import { startInstances } from "./instances.js";

const BUDGET = 5;

let postgres: PostgresServer | null = null;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

async function nodesSharing(limitsOf: RateLimits[]): Promise<KlpNode[]> {
  const logger = pino({ level: "silent" });
  const store = new MemoryStore();
  const registry = new RegistryService({ store, feed: new ChangeFeed(await store.currentRevision(), 100, logger), leases: new LeaseTable() });
  const pair = klp.generateKeyPair();
  const key = { did: pair.did, available: true, identity: () => pair, onChange: () => () => undefined };
  return limitsOf.map((limits) => new KlpNode({ key, registry, logger, name: "shared node", version: "test", messagesPerMinute: BUDGET, limits }));
}

describe("KLP sender budget across instances", () => {
  it("two instances of one node accept a sender's budget once in total, then refuse with KLP_RATE_LIMITED", async (context) => {
    if (!postgres) return context.skip();
    const group = await startInstances(2, await postgres.createDatabase("klp"));
    try {
      const nodes = await nodesSharing(group.instances.map((instance) => instance.limits));
      const sender = klp.generateKeyPair();
      const discover = () => JSON.stringify(klp.createEnvelope({ type: "service_discovery", to: nodes[0]!.did, payload: {} }, sender));
      const outcomes = await Promise.all(Array.from({ length: 4 * BUDGET }, (_, i) => nodes[i % 2]!.receive(discover())));
      const refused = outcomes.filter((outcome) => outcome.error);
      expect(outcomes.length - refused.length).toBe(BUDGET);
      expect(refused.every((outcome) => outcome.error!.code === "KLP_RATE_LIMITED")).toBe(true);
      // Another sender has a budget of its own, on either instance.
      const other = klp.generateKeyPair();
      const outcome = await nodes[1]!.receive(JSON.stringify(klp.createEnvelope({ type: "service_discovery", to: nodes[0]!.did, payload: {} }, other)));
      expect(outcome.error).toBeUndefined();
    } finally {
      await group.close();
    }
  });
});
