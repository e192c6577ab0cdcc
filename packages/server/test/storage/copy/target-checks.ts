/**
 * @module test/storage/copy/target-checks
 * What a user relies on after `kai storage copy`, checked on a real node started on the copy: the same
 * listings, tokens that still work (and the revoked one still refused), a vault that opens with the same
 * passphrase and reads every secret, an audit chain that verifies, the same peers and imported records, and
 * the same DID, and kCore's tasks with their events numbered as before.
 */
import { expect } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import type { TestServer } from "../../helpers/test-server.js";
import { listRemote } from "../../federation/support.js";
import { nodeDid } from "../../klp/support.js";
import { comparable, listAll, type SourceNode } from "./source-node.js";

const ids = (records: ServiceRecord[]) => records.map((record) => `${record.id}@${record.origin ?? "here"}`);

export async function expectSameNode(target: TestServer, source: SourceNode): Promise<void> {
  // Tokens the source issued are accepted (same node key, same token rows); the revoked one is not.
  const asAdmin: TestServer["request"] = (path, init = {}) => target.request(path, { ...init, token: source.adminToken });
  expect(comparable(await listAll(asAdmin))).toEqual(comparable(source.local));
  const reader = await target.request("/api/services", { token: source.readerToken });
  expect(reader.status).toBe(200);
  // A reader does not see the private record: the visibility came along.
  expect(ids(((await reader.json()) as { services: ServiceRecord[] }).services)).not.toContain("priv-one@here");
  expect((await target.request("/api/services", { token: source.revokedToken })).status).toBe(401);
  const tokens = (await (await asAdmin("/api/tokens")).json()) as { tokens: Array<{ id: string; revokedAt: string | null }> };
  expect(tokens.tokens.find((token) => token.id === source.revokedTokenId)?.revokedAt).toEqual(expect.any(String));

  // kCore's task, as it was, and its events under the same sequence numbers (a stream resumes where it was).
  expect(((await (await asAdmin(`/api/agent/task/${source.task.id}`)).json()) as { task: unknown }).task).toEqual(source.task);
  expect(source.task.lastSeq).toBeGreaterThan(1);
  const replayed = await target.mesh.taskEvents.eventsAfter(source.task.id, 0, 100);
  expect(replayed.map((event) => event.seq)).toEqual(Array.from({ length: source.task.lastSeq }, (_, index) => index + 1));

  // The vault: unlocked at start with the same passphrase, every secret readable, the chain intact.
  const status = (await (await asAdmin("/api/vault/status")).json()) as { initialized: boolean; locked: boolean };
  expect(status).toMatchObject({ initialized: true, locked: false });
  for (const [name, value] of Object.entries(source.secrets)) {
    const response = await asAdmin(`/api/vault/secrets/${name}`);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(((await response.json()) as { value: string }).value).toBe(value);
  }
  const audit = (await (await asAdmin("/api/vault/audit/verify")).json()) as { ok: boolean; entries: number; brokenAt: number | null };
  expect(audit).toMatchObject({ ok: true, brokenAt: null });
  expect(audit.entries).toBeGreaterThanOrEqual(source.auditEntries);

  // Federation: the same peers, and the records imported from them are there without a new sync.
  const peers = (await (await asAdmin("/api/peers")).json()) as { peers: Array<{ did: string; url: string; trusted: boolean }> };
  const sourcePeers = (source.peers as { peers: Array<{ did: string; url: string; trusted: boolean }> }).peers;
  expect(peers.peers.map(({ did, url, trusted }) => ({ did, url, trusted }))).toEqual(sourcePeers.map(({ did, url, trusted }) => ({ did, url, trusted })));
  expect(ids(await listRemote(target))).toEqual(ids(source.remote));

  expect(await nodeDid(target)).toBe(source.did);
}
