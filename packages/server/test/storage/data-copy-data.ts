/**
 * @module test/storage/data-copy-data
 * Data-service rows for the `kai storage copy` tests (copy/copy-storage.test.ts): `addDataServicesData` writes, into a
 * stopped node's SQLite database through the store contracts, an artifact, a prompt with two versions and a label, two
 * memories (one related to the other, one with a TTL) and an A2A push config on the source's task, part-way through
 * its delivery. The verification must count and fingerprint each of them, and a target holding any is not empty.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { openStore } from "../../src/storage/index.js";
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
  } finally {
    await backend.close();
  }
}
