/**
 * @module storage/copy/copy-prompts
 * Copies the prompt store (contracts/prompt-store.ts) for `kai storage copy`: every prompt of every owner with all its
 * versions. The versions are saved again oldest first, so the target numbers them 1, 2, … as they were (the target is
 * empty); each keeps its author, time, message and `restoredFrom`. The head's visibility, description and tags ride
 * on the last save, then the labels are set as they were. A copied prompt reads back equal to its source.
 */
import type { PromptVersion } from "@kai/protocol";
import type { PromptStore } from "../contracts/prompt-store.js";
import type { Progress } from "./copy-node.js";

const PAGE = 500;
/** Sees every prompt, whoever owns it. */
const EVERYONE = { owner: "", admin: true };

/** Every version of one prompt, oldest first. */
export async function allPromptVersions(store: PromptStore, name: string): Promise<PromptVersion[]> {
  const versions: PromptVersion[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await store.listVersions(name, PAGE, before);
    versions.push(...page);
    if (page.length < PAGE) return versions.reverse();
    before = page[page.length - 1]!.version;
  }
}

export async function copyPrompts(source: PromptStore, target: PromptStore, progress: Progress): Promise<{ prompts: number; versions: number }> {
  let prompts = 0;
  let copied = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await source.listPrompts({ viewer: EVERYONE, limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    for (const prompt of page.prompts) {
      const versions = await allPromptVersions(source, prompt.name);
      for (const [index, { name: _name, version: number, ...version }] of versions.entries()) {
        const last = index === versions.length - 1;
        const saved = await target.savePrompt({
          name: prompt.name,
          owner: prompt.owner,
          version,
          labels: [],
          ...(last ? { visibility: prompt.visibility, tags: prompt.tags, ...(prompt.description !== undefined ? { description: prompt.description } : {}) } : {}),
        });
        if (!saved.ok || saved.version.version !== number) throw new Error(`prompt ${prompt.name}: the target already holds it (version ${number} could not be copied as it was)`);
      }
      for (const [label, number] of Object.entries(prompt.labels)) {
        if (label !== "latest") await target.setLabel(prompt.name, label, number);
      }
      prompts++;
      copied += versions.length;
    }
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  progress(`prompts: ${prompts} prompts with ${copied} versions copied`);
  return { prompts, versions: copied };
}
