/**
 * @module test/storage/copy/source-node
 * A real node on SQLite with something of every kind in it, built through its API (no store is written by
 * hand): services (public, internal, private; with ttl and heartbeats; updated; one deregistered), tokens
 * (one revoked), a passphrase vault with secrets of several versions across a key rotation (two key versions)
 * and its audit log, and a federation peer (a second real node) with the record imported from it. The node is
 * stopped at the end, so its data directory can be copied; what a user would read from it is kept for comparing.
 */
import { expect } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FAST_FEDERATION, addPeer, eventually, listRemote } from "../../federation/support.js";
import { nodeDid } from "../../klp/support.js";

export const PASSPHRASE = "correct horse battery staple, copied";

export interface SourceNode {
  dataDir: string;
  did: string;
  adminToken: string;
  /** A valid token with `services:read`. */
  readerToken: string;
  revokedToken: string;
  revokedTokenId: string;
  /** Every local record as the admin lists it, and the imported ones. */
  local: ServiceRecord[];
  remote: ServiceRecord[];
  /** Secret values by name. */
  secrets: Record<string, string>;
  /** GET /api/peers as it answered. */
  peers: unknown;
  auditEntries: number;
  /** A finished task of kCore's (GET /api/agent/task/{id} as it answered), with events stored. */
  task: { id: string; state: string; lastSeq: number };
}

async function ok(response: Response, status = 200): Promise<unknown> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return text === "" ? null : (JSON.parse(text) as unknown);
}

/** What a user compares: a record without its revision (the target's own) and the read-time health. */
export function comparable(records: ServiceRecord[]): unknown[] {
  return records.map(({ revision: _revision, health: _health, ...rest }) => rest);
}

export async function listAll(request: TestServer["request"], query = ""): Promise<ServiceRecord[]> {
  const body = (await ok(await request(`/api/services?limit=1000${query}`))) as { services: ServiceRecord[] };
  return body.services;
}

/** Builds the source node in a fresh data directory (returned); `peer` is a running node A imports from. */
export async function buildSourceNode(peer: TestServer): Promise<SourceNode> {
  const dataDir = mkdtempSync(join(tmpdir(), "kai-copy-source-"));
  const node = await startTestServer({ keepDataDir: dataDir, env: { KAI_VAULT_PASSPHRASE: PASSPHRASE }, config: { federation: FAST_FEDERATION } });
  try {
    const post = (path: string, json: unknown, status = 201) => node.request(path, { method: "POST", json }).then((r) => ok(r, status));
    await post("/api/services/register", registration({ id: "pub-one", visibility: "public", tags: ["gpu", "eu"] }));
    await post("/api/services/register", registration({ id: "gone-one" }));
    await post("/api/services/register", registration({ id: "lease-beating", ttl: 300 }));
    await post("/api/services/register", registration({ id: "lease-quiet", ttl: 600, visibility: "internal" }));
    await post("/api/services/register", registration({ id: "priv-one", visibility: "private", capabilities: ["embeddings"] }));
    await ok(await node.request("/api/services/gone-one", { method: "DELETE" }), 204);
    await ok(await node.request("/api/services/pub-one", { method: "PATCH", json: { description: "updated after registration" } }));
    for (let beat = 0; beat < 2; beat++) await post("/api/services/lease-beating/heartbeat", {}, 200);

    const reader = (await post("/api/tokens", { scopes: ["services:read"], owner: "reader", name: "reader" })) as { token: string };
    const revoked = (await post("/api/tokens", { scopes: ["services:read"], owner: "leaver" })) as { id: string; token: string };
    await ok(await node.request(`/api/tokens/${revoked.id}`, { method: "DELETE" }), 204);

    const put = (name: string, value: string) => node.request(`/api/vault/secrets/${name}`, { method: "PUT", json: { value } }).then((r) => ok(r));
    await put("openai/api-key", "sk-first");
    await put("openai/api-key", "sk-second");
    await put("anthropic/api-key", "an-first");
    await post("/api/vault/rotate", {}, 200);
    await put("openai/api-key", "sk-third-after-rotation");
    await put("db/password", "hunter2");
    const secrets = { "openai/api-key": "sk-third-after-rotation", "anthropic/api-key": "an-first", "db/password": "hunter2" };
    for (const [name, value] of Object.entries(secrets)) {
      expect(((await ok(await node.request(`/api/vault/secrets/${name}`))) as { value: string }).value).toBe(value);
    }

    // A task kCore finishes at once (nobody offers its capability): stored with its events.
    const created = (await post("/api/agent/task", { goal: "copied task", capability: "nobody_offers_this" }, 202)) as { task: { id: string } };
    const task = await eventually(
      async () => ((await ok(await node.request(`/api/agent/task/${created.task.id}`))) as { task: SourceNode["task"] }).task,
      (current) => current.state === "failed",
    );

    await ok(await addPeer(node, peer), 201);
    const remote = await eventually(() => listRemote(node), (records) => records.length >= 1);
    const peers = await ok(await node.request("/api/peers"));
    const audit = (await ok(await node.request("/api/vault/audit/verify"))) as { ok: boolean; entries: number };
    expect(audit.ok).toBe(true);
    return {
      dataDir,
      did: await nodeDid(node),
      adminToken: node.adminToken,
      readerToken: reader.token,
      revokedToken: revoked.token,
      revokedTokenId: revoked.id,
      local: await listAll(node.request),
      remote,
      secrets,
      peers,
      // The verification itself was read by the admin: one more entry.
      auditEntries: audit.entries + 1,
      task,
    };
  } finally {
    await node.dispose();
  }
}
