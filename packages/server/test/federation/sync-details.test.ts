// What `state_sync` tells a peer, asked directly over a KLP session: private records are never mentioned
// (not even by id), a record that stops being public becomes a tombstone, snapshots page, a cursor from
// another epoch gets a snapshot. Then the watch stream with remote records, and imports surviving a restart.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, type ServerStreamMessage } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeDid } from "../klp/support.js";
import type { KlpPeerSession } from "../../src/klp/peer-session.js";
import { FAST_FEDERATION, addPeer, eventually, ids, listRemote } from "./support.js";

let a: TestServer;
let b: TestServer;
let didB: string;
let session: KlpPeerSession;
const keepDir = mkdtempSync(join(tmpdir(), "kai-fed-keep-"));

async function sync(payload: klp.StateSyncRequest): Promise<klp.StateSyncAnswer> {
  const reply = await session.request({ type: "state_sync", to: didB, payload });
  return klp.StateSyncAnswerSchema.parse(reply.payload);
}
const mentioned = (answer: klp.StateSyncAnswer) =>
  answer.statements.map((s) => klp.FederationStatementSchema.parse(s)).map((s) => `${s.kind === "record" ? "+" : "-"}${s.serviceId}`);

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ keepDataDir: keepDir, config: { federation: FAST_FEDERATION } }), startTestServer()]);
  didB = await nodeDid(b);
  session = await a.klp.connect(b.url, "ws", didB);
});
afterAll(async () => {
  await session.close();
  await Promise.all([a.dispose(), b.dispose()]);
  rmSync(keepDir, { recursive: true, force: true });
});

const register = (server: TestServer, id: string, extra: Record<string, unknown> = {}) =>
  server.request("/api/services/register", { method: "POST", json: registration({ id, ...extra }) });

describe("state_sync answers", () => {
  it("never mention a private record, and turn a public one that goes private into a tombstone", async () => {
    await register(b, "first");
    const start = await sync({ sinceRevision: 0 });
    expect(start.mode).toBe("snapshot");
    expect(mentioned(start)).toEqual(["+first"]);
    await register(b, "secret", { visibility: "private" });
    await b.request("/api/services/secret", { method: "PATCH", json: { description: "still secret" } });
    await b.request("/api/services/secret", { method: "DELETE" });
    await register(b, "shown");
    await b.request("/api/services/shown", { method: "PATCH", json: { visibility: "internal" } });
    await register(b, "kept");
    const changes = await sync({ sinceRevision: start.revision, epoch: start.epoch });
    expect(changes.mode).toBe("changes");
    expect(mentioned(changes).sort()).toEqual(["+kept", "-shown"]);
    expect(JSON.stringify(changes)).not.toContain("secret");
    expect(changes.headRevision).toBe(changes.revision);
  });

  it("page a snapshot with its cursor, each statement signed by the origin", async () => {
    await Promise.all(Array.from({ length: 23 }, (_, i) => register(b, `bulk-${String(i).padStart(2, "0")}`)));
    const seen: string[] = [];
    let page = await sync({ sinceRevision: 0, limit: 10 });
    const revision = page.revision;
    for (;;) {
      expect(page.mode).toBe("snapshot");
      for (const raw of page.statements) expect(klp.verifyDocument(raw as Record<string, unknown>, didB)).toBe(true);
      seen.push(...mentioned(page));
      if (!page.more) break;
      page = await sync({ sinceRevision: 0, limit: 10, snapshotCursor: page.nextSnapshotCursor! });
    }
    expect(page.revision).toBeGreaterThanOrEqual(revision);
    expect(seen.filter((s) => s.startsWith("+bulk-"))).toHaveLength(23);
    expect(seen).toContain("+kept");
    expect(seen).not.toContain("+shown");
  });

  it("answer a cursor from another epoch with a snapshot", async () => {
    const answer = await sync({ sinceRevision: 5, epoch: "some-other-history" });
    expect(answer.mode).toBe("snapshot");
  });
});

describe("the watch stream with remote records", () => {
  it("sends imported records in the snapshot and their changes as events with their origin", async () => {
    const socket = new WebSocket(`${a.url.replace("http", "ws")}/ws/registry`, { headers: { authorization: `Bearer ${a.adminToken}` } });
    const messages: ServerStreamMessage[] = [];
    socket.on("message", (data: Buffer) => messages.push(JSON.parse(data.toString()) as ServerStreamMessage));
    await new Promise((resolve) => socket.once("open", resolve));
    expect((await addPeer(a, b)).status).toBe(201);
    await eventually(() => listRemote(a), (records) => ids(records).includes("kept"));
    socket.send(JSON.stringify({ type: "subscribe", filter: { location: "remote", capability: ["llm_chat"] } }));
    const snapshot = await eventually(async () => messages.find((m) => m.type === "snapshot"), (m) => m !== undefined);
    expect(snapshot?.type === "snapshot" && snapshot.services.every((s) => s.origin === didB)).toBe(true);
    expect(snapshot?.type === "snapshot" && snapshot.services.map((s) => s.id)).toContain("kept");
    await register(b, "arrives-live");
    const event = await eventually(async () => messages.find((m) => m.type === "event" && m.serviceId === "arrives-live"), (m) => m !== undefined);
    expect(event).toMatchObject({ type: "event", event: "registered", origin: didB, service: { id: "arrives-live", origin: didB } });
    // A resume cannot replay remote changes: the subscriber gets an exact snapshot instead.
    socket.send(JSON.stringify({ type: "subscribe", filter: { location: "all" }, fromRevision: 1 }));
    await eventually(async () => messages.find((m) => m.type === "snapshot" && m.reason === "includes_remote"), (m) => m !== undefined);
    socket.close();
  });
});

describe("restart", () => {
  it("keeps imported records across a restart, before the peer is reachable again", async () => {
    const before = ids(await listRemote(a));
    expect(before).toContain("kept");
    await a.close();
    a = await startTestServer({ keepDataDir: keepDir, config: { federation: { ...FAST_FEDERATION, pullIntervalMs: 3_600_000 } } });
    // Straight after start: served from storage, whatever the link is doing.
    expect(ids(await listRemote(a))).toEqual(before);
  });
});
