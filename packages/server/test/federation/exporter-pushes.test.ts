// Pushes are paced: a burst of changes goes to a subscriber in few signed messages (each one the receiver
// must remember for the staleness window), sparse changes go at once, a sustained stream stays within the
// pace, and private records are never mentioned.
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

function setup(now?: () => number) {
  const feed = new ChangeFeed(0, 10_000);
  const logger = pino({ level: "silent" });
  const exporter = new FederationExporter({ store: new MemoryStore(), feed, identity: () => identity, epoch: "e", recordTtlSeconds: 3600, logger, ...(now ? { now } : {}) });
  const pushes: klp.KlpEnvelope[] = [];
  exporter.subscribe({ peerDid: peer.did, push: (envelope) => (pushes.push(envelope), true) });
  return { feed, exporter, pushes };
}

const statementsOf = (pushes: klp.KlpEnvelope[]) => pushes.flatMap((envelope) => klp.FederationPushPayloadSchema.parse(envelope.payload).statements as klp.FederationStatement[]);

describe("federation pushes", () => {
  it("send a burst of 500 changes in about PUSH_BURST signed messages, the first change at once", async () => {
    // The clock stands still while the burst is published: how fast this machine signs must not refill the bucket.
    let frozenAt: number | null = Date.now();
    const { feed, exporter, pushes } = setup(() => frozenAt ?? Date.now());
    for (let i = 1; i <= 500; i++) feed.publish({ event: { event: "registered", revision: i, service: record(`svc-${i}`, i) }, previous: null });
    expect(pushes.length).toBeGreaterThanOrEqual(1);
    expect(pushes.length).toBeLessThanOrEqual(klp.PUSH_BURST);
    frozenAt = null;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pushes.length).toBeLessThanOrEqual(klp.PUSH_BURST + 11);
    const statements = statementsOf(pushes);
    expect(statements.map((s) => s.serviceId)).toEqual(Array.from({ length: 500 }, (_, i) => `svc-${i + 1}`));
    for (const envelope of pushes) expect(klp.verifyEnvelope(envelope as unknown as Record<string, unknown>)).toBe(true);
    exporter.close();
  });

  it("keep a sustained stream within the pace (about PUSH_RATE_PER_SECOND messages a second)", async () => {
    const { feed, exporter, pushes } = setup();
    let revision = 0;
    const started = Date.now();
    const paced = () => klp.PUSH_BURST + klp.PUSH_RATE_PER_SECOND * ((Date.now() - started) / 1000);
    // A stream faster than the pace, however slow the machine: for at least half a second and until it has offered
    // twice what the pace lets through (a loaded machine once managed only 63 changes in 500 ms, all within the pace,
    // so nothing had to be coalesced). Deadline 10 s.
    while ((Date.now() - started < 500 || revision < 2 * paced()) && Date.now() - started < 10_000) {
      for (let i = 0; i < 5; i++) {
        revision++;
        feed.publish({ event: { event: "registered", revision, service: record(`svc-${revision}`, revision) }, previous: null });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    // About half a second: the burst plus the rate over the time that really passed (a loaded machine's timers run
    // late), whatever the number of changes.
    const elapsedSeconds = (Date.now() - started) / 1000;
    expect(revision).toBeGreaterThan(pushes.length);
    expect(pushes.length).toBeLessThanOrEqual(klp.PUSH_BURST + klp.PUSH_RATE_PER_SECOND * elapsedSeconds + 1);
    expect(statementsOf(pushes)).toHaveLength(revision);
    exporter.close();
  });

  it("never mention a private record, and tombstone a public one that turns private", async () => {
    const { feed, exporter, pushes } = setup();
    feed.publish({ event: { event: "registered", revision: 1, service: record("secret", 1, "private") }, previous: null });
    feed.publish({ event: { event: "registered", revision: 2, service: record("shown", 2) }, previous: null });
    feed.publish({ event: { event: "updated", revision: 3, service: record("shown", 3, "internal") }, previous: record("shown", 2) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statementsOf(pushes).map((s) => `${s.kind}:${s.serviceId}`)).toEqual(["record:shown", "tombstone:shown"]);
    expect(JSON.stringify(pushes)).not.toContain("secret");
    exporter.close();
  });
});
