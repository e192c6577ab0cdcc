// One stored record that cannot be signed must not take down what is signed for all the others. A record
// whose name holds an unpaired surrogate (what the API accepted before it refused such text, or what a hand
// edit of the database leaves) is written straight into the SQLite file, around the API. Then the node's
// public discovery, its verify answers, KLP discovery messages and every peer's `state_sync` (snapshot and
// changes) must still answer, signed, with the other records, leave that one out, and log it by id only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import type { KlpPeerSession } from "../../src/klp/peer-session.js";
import { FAST_FEDERATION, addPeer, eventually, ids, listRemote } from "../federation/support.js";
import { nodeDid } from "./support.js";

const keepDir = mkdtempSync(join(tmpdir(), "kai-unsignable-"));
const BAD_NAME = "x\ud800";
let origin: TestServer;
let peer: TestServer;
let originDid: string;
let session: KlpPeerSession;
let epoch: string;
let goodRevision: number;

/** Rewrites the stored document (and event-log copies) of `id` with a name no JCS text can carry. */
function corruptName(dataDir: string, id: string): void {
  const db = new Database(join(dataDir, "kai.db"), { fileMustExist: true });
  try {
    const service = db.prepare("SELECT doc FROM services WHERE id = ?").get(id) as { doc: string };
    const doc = JSON.parse(service.doc) as Record<string, unknown>;
    // JSON.stringify writes the lone surrogate as the escape `\ud800`: the stored text is plain ASCII.
    db.prepare("UPDATE services SET doc = ? WHERE id = ?").run(JSON.stringify({ ...doc, name: BAD_NAME }), id);
    const events = db.prepare("SELECT revision, doc FROM events WHERE service_id = ?").all(id) as { revision: number; doc: string }[];
    for (const event of events) {
      const eventDoc = JSON.parse(event.doc) as Record<string, unknown>;
      db.prepare("UPDATE events SET doc = ? WHERE revision = ?").run(JSON.stringify({ ...eventDoc, name: BAD_NAME }), event.revision);
    }
  } finally {
    db.close();
  }
}

async function stateSync(payload: klp.StateSyncRequest): Promise<klp.StateSyncAnswer> {
  const reply = await session.request({ type: "state_sync", to: originDid, payload });
  return klp.StateSyncAnswerSchema.parse(reply.payload);
}
const mentioned = (answer: klp.StateSyncAnswer) => answer.statements.map((s) => klp.FederationStatementSchema.parse(s)).map((s) => `${s.kind === "record" ? "+" : "-"}${s.serviceId}`);

beforeAll(async () => {
  origin = await startTestServer({ keepDataDir: keepDir });
  const good = await origin.request("/api/services/register", { method: "POST", json: registration({ id: "good-1", name: "Good" }) });
  expect(good.status).toBe(201);
  goodRevision = ((await good.json()) as { revision: number }).revision;
  expect((await origin.request("/api/services/register", { method: "POST", json: registration({ id: "bad-1", name: "Soon bad" }) })).status).toBe(201);
  expect((await origin.request("/api/services/register", { method: "POST", json: registration({ id: "good-2", name: "Also good" }) })).status).toBe(201);
  await origin.close();
  corruptName(keepDir, "bad-1");
  origin = await startTestServer({ keepDataDir: keepDir, config: { federation: FAST_FEDERATION } });
  originDid = await nodeDid(origin);
  peer = await startTestServer({ config: { federation: FAST_FEDERATION } });
  session = await peer.klp.connect(origin.url, "ws", originDid);
});
afterAll(async () => {
  await session?.close();
  await Promise.all([origin?.dispose(), peer?.dispose()]);
  rmSync(keepDir, { recursive: true, force: true });
});

describe("a stored record that cannot be signed", () => {
  it("is still stored as written (the API reads it back), so the test really has one", async () => {
    const response = await origin.request("/api/services/bad-1");
    expect(response.status).toBe(200);
    expect(((await response.json()) as { name: string }).name).toBe(BAD_NAME);
  });

  it("is left out of GET /klp/discover, which answers the others, signed", async () => {
    const response = await fetch(`${origin.url}/klp/discover`);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const answer = klp.KlpDiscoveryAnswerSchema.parse(JSON.parse(text));
    expect(answer.entries.map((entry) => entry.serviceId).sort()).toEqual(["good-1", "good-2"]);
    expect(klp.verifyDocument(JSON.parse(text) as Record<string, unknown>, originDid)).toBe(true);
  });

  it("is not served by GET /klp/verify (404), while the others verify", async () => {
    const good = await fetch(`${origin.url}/klp/verify?serviceId=good-1`);
    expect(good.status, await good.clone().text()).toBe(200);
    expect(klp.verifyDocument((await good.json()) as Record<string, unknown>, originDid)).toBe(true);
    const bad = await fetch(`${origin.url}/klp/verify?serviceId=bad-1`);
    expect(bad.status, await bad.clone().text()).toBe(404);
  });

  it("is left out of a KLP service_discovery answer", async () => {
    const reply = await session.request({ type: "service_discovery", to: originDid, payload: {} });
    expect(reply.type).toBe("service_discovery");
    const entries = (reply.payload as { entries: { serviceId: string }[] }).entries;
    expect(entries.map((entry) => entry.serviceId).sort()).toEqual(["good-1", "good-2"]);
  });

  it("is left out of state_sync, snapshot and changes alike", async () => {
    const snapshot = await stateSync({ sinceRevision: 0 });
    expect(snapshot.mode).toBe("snapshot");
    expect(mentioned(snapshot).sort()).toEqual(["+good-1", "+good-2"]);
    epoch = snapshot.epoch;
    // After a restart the in-memory feed is empty: changes come from the event log, which holds the bad copy too.
    const changes = await stateSync({ sinceRevision: goodRevision, epoch });
    expect(changes.mode).toBe("changes");
    expect(mentioned(changes)).toEqual(["+good-2"]);
  });

  it("does not keep a peer from importing the others", async () => {
    expect((await addPeer(peer, origin)).status).toBe(201);
    const remote = await eventually(() => listRemote(peer), (records) => ids(records).includes("good-2"));
    expect(ids(remote)).toEqual(["good-1", "good-2"]);
  });

  it("is logged by id, once per place, never with its text", () => {
    const lines = origin.logs.filter((line) => line.includes("cannot be signed"));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(2);
    for (const line of lines) {
      expect(line).toContain("bad-1");
      expect(line).not.toMatch(/\\ud800|\ufffd/i);
    }
  });
});
