/**
 * @module storage/copy/copy-memories
 * Copies semantic memory's rows (contracts/semantic-memory-store.ts) for `kai storage copy`: every memory of every
 * owner, page by page in id order, as it is (id, vector, times; expired ones too: the target's sweeper deletes them as
 * the source's would have). The target builds its index from these rows when it starts.
 */
import type { SemanticMemoryStore } from "../contracts/semantic-memory-store.js";
import type { Progress } from "./copy-node.js";

const PAGE = 1_000;

export async function copyMemories(source: SemanticMemoryStore, target: SemanticMemoryStore, progress: Progress): Promise<{ memories: number }> {
  let memories = 0;
  let after: string | null = null;
  for (;;) {
    const page = await source.scan(after, PAGE);
    for (const memory of page) {
      // At time 0 nothing has expired yet, so an expired memory is copied like any other.
      const outcome = await target.add(memory, 0);
      if (!outcome.created) throw new Error(`memory ${memory.id}: the target already holds the same text in ${memory.owner}'s ${memory.namespace}`);
    }
    memories += page.length;
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  progress(`memory: ${memories} memories copied`);
  return { memories };
}
