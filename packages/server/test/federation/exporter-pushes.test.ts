// Pushes are paced: a burst of changes goes to a subscriber in few signed messages (each one the receiver
// must remember for the staleness window), the first change after a quiet spell goes at once, and private
// records are never mentioned.
import { describe, expect, it } from "vitest";
import { klp, type ServiceRecord } from "@kai/protocol";
import { ChangeFeed } from "../../src/registry/change-feed.js";
import { MemoryStore } from "../../src/storage/memory/memory-store.js";
import { FederationExporter } from "../../src/federation/exporter.js";
import pino from "pino";

const identity = klp.generateKeyPair();
const peer = klp.generateKeyPair();

function record(id: string, revision: number, visibility: ServiceRecord["visibility"] = "public"): ServiceRecord {
  const at = new Date().toISOString();
  return {
    id, name: id, description: "", type: "service", capabilities: ["llm_chat"], tags: [], auth: { type: "none" }, endpoints: [],
    owner: "alice", visibility, trustLevel: "unverified", metadata: {}, heartbeat: null, status: "active", createdAt: at, updatedAt: at, revision,
  };
}

function setup() {
  const feed = new ChangeFeed(0, 10_000);
  const logger = pino({ level: "silent" });
  const exporter = new FederationExporter({ store: new MemoryStore(), feed, identity: () => identity, epoch: "e", recordTtlSeconds: 3600, logger });
  const pushes: klp.KlpEnvelope[] = [];
  exporter.subscribe({ peerDid: peer.did, push: (envelope) => (pushes.push(envelope), true) });
  return { feed, exporter, pushes };
}

const statementsOf = (pushes: klp.KlpEnvelope[]) => pushes.flatMap((envelope) => klp.FederationPushPayloadSchema.parse(envelope.payload).statements as klp.FederationStatement[]);

describe("federation pushes", () => {
  it("send a burst of 500 changes in two signed messages, the first change at once", async () => {
    const { feed, exporter, pushes } = setup();
    for (let i = 1; i <= 500; i++) feed.publish({ event: { event: "registered", revision: i, service: record(`svc-${i}`, i) }, previous: null });
    expect(pushes).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, klp.PUSH_INTERVAL_MS + 50));
    expect(pushes).toHaveLength(2);
    const statements = statementsOf(pushes);
    expect(statements.map((s) => s.serviceId)).toEqual(Array.from({ length: 500 }, (_, i) => `svc-${i + 1}`));
    for (const envelope of pushes) expect(klp.verifyEnvelope(envelope as unknown as Record<string, unknown>)).toBe(true);
    exporter.close();
  });

  it("never mention a private record, and tombstone a public one that turns private", async () => {
    const { feed, exporter, pushes } = setup();
    feed.publish({ event: { event: "registered", revision: 1, service: record("secret", 1, "private") }, previous: null });
    feed.publish({ event: { event: "registered", revision: 2, service: record("shown", 2) }, previous: null });
    feed.publish({ event: { event: "updated", revision: 3, service: record("shown", 3, "internal") }, previous: record("shown", 2) });
    await new Promise((resolve) => setTimeout(resolve, klp.PUSH_INTERVAL_MS + 50));
    expect(statementsOf(pushes).map((s) => `${s.kind}:${s.serviceId}`)).toEqual(["record:shown", "tombstone:shown"]);
    expect(JSON.stringify(pushes)).not.toContain("secret");
    exporter.close();
  });
});
