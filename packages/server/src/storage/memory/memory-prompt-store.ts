/**
 * @module storage/memory/memory-prompt-store
 * `PromptStore` in process memory, for `storage.kind: memory` (nothing survives a restart). Every method runs to its
 * end without awaiting, so a save (version + head + labels) is atomic by construction; copies go in and out, so a
 * caller changing its object never changes the stored one. Search scans every prompt (fine at memory's scale).
 */
import type { PromptInfo, PromptVersion } from "@kai/protocol";
import { maySeePrompt, nextHead, promptSearchText, versionOf, withLatest, type PromptListQuery, type PromptPage, type PromptSave, type PromptSaveOutcome, type PromptStore, type StoredPromptHead } from "../contracts/prompt-store.js";

const copy = <T>(value: T): T => structuredClone(value);

interface Entry {
  head: StoredPromptHead;
  versions: PromptVersion[];
  words: string[];
}

export class MemoryPromptStore implements PromptStore {
  private readonly prompts = new Map<string, Entry>();

  constructor(private readonly check: () => void) {}

  async savePrompt(save: PromptSave): Promise<PromptSaveOutcome> {
    this.check();
    const entry = this.prompts.get(save.name);
    if (entry && entry.head.owner !== save.owner) return { ok: false, reason: "owner_mismatch" };
    const number = (entry?.versions.length ?? 0) + 1;
    const head = nextHead(entry?.head ?? null, save, number);
    const version = versionOf(save, number);
    const stored: Entry = { head: copy(head), versions: [...(entry?.versions ?? []), copy(version)], words: promptSearchText(head, version.template).split(" ") };
    this.prompts.set(save.name, stored);
    return { ok: true, prompt: withLatest(copy(head), number), version: copy(version) };
  }

  async getPrompt(name: string): Promise<PromptInfo | null> {
    this.check();
    const entry = this.prompts.get(name);
    return entry ? withLatest(copy(entry.head), entry.versions.length) : null;
  }

  async getVersion(name: string, version: number): Promise<PromptVersion | null> {
    this.check();
    const found = this.prompts.get(name)?.versions[version - 1];
    return found ? copy(found) : null;
  }

  async listVersions(name: string, limit: number, before?: number): Promise<PromptVersion[]> {
    this.check();
    const versions = this.prompts.get(name)?.versions ?? [];
    return versions
      .filter((version) => before === undefined || version.version < before)
      .reverse()
      .slice(0, limit)
      .map(copy);
  }

  async setLabel(name: string, label: string, version: number | null): Promise<PromptInfo | null> {
    this.check();
    const entry = this.prompts.get(name);
    if (!entry) return null;
    if (version === null) delete entry.head.labels[label];
    else if (version > entry.versions.length) return null;
    else entry.head.labels[label] = version;
    return withLatest(copy(entry.head), entry.versions.length);
  }

  async deletePrompt(name: string): Promise<boolean> {
    this.check();
    return this.prompts.delete(name);
  }

  async listPrompts(query: PromptListQuery): Promise<PromptPage> {
    this.check();
    const words = query.words ?? [];
    const matching = [...this.prompts.values()]
      .filter(({ head }) => maySeePrompt(query.viewer, head))
      .filter(({ head }) => query.owner === undefined || head.owner === query.owner)
      .filter(({ head }) => query.tag === undefined || head.tags.includes(query.tag))
      .filter((entry) => words.every((word) => entry.words.some((stored) => stored.startsWith(word))))
      .filter(({ head }) => query.cursor === undefined || head.name > query.cursor)
      .sort((a, b) => (a.head.name < b.head.name ? -1 : 1));
    const page = matching.slice(0, query.limit).map((entry) => withLatest(copy(entry.head), entry.versions.length));
    return { prompts: page, nextCursor: matching.length > query.limit ? page[page.length - 1]!.name : null };
  }
}
