/**
 * @module storage/copy/data-inventory
 * The data services' part of a backend's inventory (inventory.ts): artifact metadata, prompts with every version,
 * semantic memories, A2A push configs, and the desired plugin installs with their packages' bytes, read through their store contracts only, each counted and fingerprinted
 * (content-digest.ts). Without it a target that already held prompts or memories passed as empty (the copy then
 * failed half-way on the first duplicate), and a copy that lost a memory's vector still verified.
 *
 * Share links are not counted: the copy does not carry them (copy-artifacts.ts). A memory's vector is fingerprinted
 * by its bytes (a Float32Array's JSON is an object of numbers: slow, and no more exact).
 */
import { createHash } from "node:crypto";
import type { StorageBackend } from "../contracts/storage-backend.js";
import type { StoredMemory } from "../contracts/semantic-memory-store.js";
import { byKey, digestOf, feed } from "./content-digest.js";
import { allPromptVersions } from "./copy-prompts.js";
import { allPushConfigs } from "./copy-push-configs.js";
import { eachPluginInstall } from "./copy-plugin-installs.js";

const PAGE = 500;
const EVERYONE = { owner: "", admin: true };

export interface DataInventory {
  artifacts: number;
  prompts: number;
  promptVersions: number;
  memories: number;
  pushConfigs: number;
  /** Rows of the shared plugin install store (issue 18), and their packages' bytes in all. */
  pluginInstalls: number;
  pluginPackageBytes: number;
  digests: Record<DataDigestKind, string>;
}

export type DataDigestKind = "artifacts" | "prompts" | "memories" | "pushConfigs" | "pluginInstalls";

/** A memory as the digest sees it: its vector as the hex of its bytes. */
function comparableMemory(memory: StoredMemory): Omit<StoredMemory, "vector"> & { vector: string } {
  return { ...memory, vector: Buffer.from(memory.vector.buffer, memory.vector.byteOffset, memory.vector.byteLength).toString("hex") };
}

export async function takeDataInventory(store: StorageBackend): Promise<DataInventory> {
  const artifactRows: unknown[] = [];
  const artifactStore = store.artifactStore();
  for (let cursor: string | undefined; ; ) {
    const page = await artifactStore.listArtifacts({ limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    artifactRows.push(...page.artifacts);
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  const artifactsDigest = digestOf([...(artifactRows as Array<{ id: string }>)].sort(byKey((artifact) => artifact.id)));

  const promptStore = store.promptStore();
  const promptRows: Array<{ name: string; document: unknown }> = [];
  let promptVersions = 0;
  for (let cursor: string | undefined; ; ) {
    const page = await promptStore.listPrompts({ viewer: EVERYONE, limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    for (const prompt of page.prompts) {
      const versions = await allPromptVersions(promptStore, prompt.name);
      promptVersions += versions.length;
      promptRows.push({ name: prompt.name, document: { prompt, versions } });
    }
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  promptRows.sort(byKey((row) => row.name));

  // scan() walks memories in id order: the same order on every backend.
  const memoryStore = store.semanticMemoryStore();
  const memoryHash = createHash("sha256");
  let memories = 0;
  for (let after: string | null = null; ; ) {
    const page = await memoryStore.scan(after, PAGE);
    for (const memory of page) feed(memoryHash, comparableMemory(memory));
    memories += page.length;
    if (page.length < PAGE) break;
    after = page.at(-1)!.id;
  }

  const pushConfigs = await allPushConfigs(store.a2aPushStore());

  // Rows by id, each followed by its package's bytes as they are (not as JSON: a package may be megabytes), so the
  // bytes are compared, not only counted.
  const pluginHash = createHash("sha256");
  let pluginInstalls = 0;
  let pluginPackageBytes = 0;
  for await (const row of eachPluginInstall(store.pluginInstallStore())) {
    feed(pluginHash, { ...row, package: row.package === null ? null : row.package.length });
    if (row.package) pluginHash.update(row.package).update("\n");
    pluginInstalls++;
    pluginPackageBytes += row.package?.length ?? 0;
  }

  return {
    artifacts: artifactRows.length,
    prompts: promptRows.length,
    promptVersions,
    memories,
    pushConfigs: pushConfigs.length,
    pluginInstalls,
    pluginPackageBytes,
    digests: {
      artifacts: artifactsDigest,
      prompts: digestOf(promptRows),
      memories: memoryHash.digest("hex"),
      pushConfigs: digestOf(pushConfigs),
      pluginInstalls: pluginHash.digest("hex"),
    },
  };
}

/** What makes a target "not empty", as (kind, count) pairs. */
export function dataContents(inventory: DataInventory): Array<[string, number]> {
  return [
    ["artifacts", inventory.artifacts],
    ["prompts", inventory.prompts],
    ["memories", inventory.memories],
    ["push configs", inventory.pushConfigs],
    ["plugin installs", inventory.pluginInstalls],
  ];
}
