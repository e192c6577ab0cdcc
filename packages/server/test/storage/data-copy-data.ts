/**
 * @module test/storage/data-copy-data
 * Data-service rows for the `kai storage copy` tests (copy/copy-storage.test.ts): `addDataServicesData` writes, into a
 * stopped node's SQLite database through the store contracts, an artifact, a prompt with two versions and a label, two
 * memories (one related to the other, one with a TTL) and an A2A push config on the source's task, part-way through
 * its delivery; and two rows of the shared plugin install store: a plugin updated twice (revision 3) with a package of
 * random bytes, and a removed one (no package). The verification must count and fingerprint each of them, and a target
 * holding any is not empty. `expectCopiedPluginInstalls` compares a target's plugin install rows with the source's,
 * package bytes and revisions included.
 */
import { randomBytes, createHash } from "node:crypto";
import { join } from "node:path";
import { expect } from "vitest";
import { openStore, type OpenStoreOptions } from "../../src/storage/index.js";
import type { PluginInstallWrite, StoredPluginInstall } from "../../src/storage/contracts/plugin-install-store.js";
import type { StoredMemory } from "../../src/storage/contracts/semantic-memory-store.js";

const AT = "2030-01-02T03:04:05.000Z";

function memory(id: string, text: string, extra: Partial<StoredMemory> = {}): StoredMemory {
  const vector = new Float32Array(8);
  vector[id.length % 8] = 1;
  return { id, owner: "alice", namespace: "facts", text, metadata: { team: "ops" }, relations: [], contentHash: id.padEnd(64, "0").slice(0, 64), model: "embed-small", vector, createdAt: Date.parse(AT), expiresAt: null, ...extra };
}

export async function addDataServicesData(dataDir: string, taskId: string): Promise<void> {
  const backend = await openStore({ kind: "sqlite", path: join(dataDir, "kai.db") });
  try {
    await backend.artifactStore().addArtifact({ id: "art_copy_1", name: "report.txt", contentType: "text/plain", size: 12, sha256: "ab".repeat(32), uploader: "alice", tags: ["copied"], createdAt: AT, encrypted: false });
    const prompts = backend.promptStore();
    const version = (template: string) => ({ type: "text" as const, template, variables: [], author: "alice", createdAt: AT });
    expect((await prompts.savePrompt({ name: "copy-greeting", owner: "alice", visibility: "shared", tags: ["copied"], version: version("Hello"), labels: [] })).ok).toBe(true);
    expect((await prompts.savePrompt({ name: "copy-greeting", owner: "alice", version: version("Hello there"), labels: ["production"] })).ok).toBe(true);
    const memories = backend.semanticMemoryStore();
    expect((await memories.add(memory("mem_copy_1", "The deploy key rotates on Mondays"), 0)).created).toBe(true);
    expect((await memories.add(memory("mem_copy_2", "Rotation is done by the ops team", { relations: ["mem_copy_1"], expiresAt: Date.parse("2031-01-01T00:00:00.000Z") }), 0)).created).toBe(true);
    await backend.a2aPushStore().putConfig({ taskId, id: "copy-receiver", owner: "admin", url: "https://receiver.example/push", scheme: "Bearer", sealed: "sealed-credentials", deliveredSeq: 1, createdAt: AT });
    const installs = backend.pluginInstallStore();
    for (const [version, size] of [["1.0.0", 1000], ["1.1.0", 2000], ["2.0.0", 200_000]] as const) {
      await installs.putInstall(pluginInstall("copied-plugin", { action: version === "1.0.0" ? "install" : "update", version, package: randomBytes(size) }));
    }
    await installs.putInstall(pluginInstall("removed-plugin", { action: "remove", package: null, sha256: null, trust: null, purge: true }));
  } finally {
    await backend.close();
  }
}

function pluginInstall(id: string, overrides: Partial<PluginInstallWrite>): PluginInstallWrite {
  const bytes = overrides.package === undefined ? null : overrides.package;
  return {
    id, action: "install", version: "1.0.0", package: bytes, sha256: bytes ? createHash("sha256").update(bytes).digest("hex") : null,
    trust: "trusted", signer: "did:key:z6Mkcopied#ed25519", purge: false, by: "admin", origin: "source-instance", at: AT, ...overrides,
  };
}

async function installsIn(target: OpenStoreOptions): Promise<StoredPluginInstall[]> {
  const backend = await openStore(target);
  try {
    const store = backend.pluginInstallStore();
    const rows: StoredPluginInstall[] = [];
    for (const head of await store.listInstalls()) rows.push((await store.getInstall(head.id))!);
    return rows;
  } finally {
    await backend.close();
  }
}

/** The target's plugin install rows are the source's: the same fields and revisions, every package byte for byte. */
export async function expectCopiedPluginInstalls(sourceDataDir: string, target: OpenStoreOptions): Promise<void> {
  const source = await installsIn({ kind: "sqlite", path: join(sourceDataDir, "kai.db") });
  const copied = await installsIn(target);
  expect(source.map((row) => [row.id, row.revision, row.package?.length ?? 0])).toEqual([["copied-plugin", 3, 200_000], ["removed-plugin", 1, 0]]);
  expect(copied.map(({ package: _bytes, ...head }) => head)).toEqual(source.map(({ package: _bytes, ...head }) => head));
  for (const [index, row] of source.entries()) {
    const bytes = copied[index]!.package;
    expect(bytes === null ? null : bytes.equals(row.package!)).toBe(row.package === null ? null : true);
  }
  expect(createHash("sha256").update(copied[0]!.package!).digest("hex")).toBe(source[0]!.sha256);
}
