/**
 * `kai storage copy`'s prompt step (storage/copy/copy-prompts.ts): prompts of two owners with several versions (one a
 * restore), labels, tags, descriptions and visibility, copied from SQLite into a real PostgreSQL, read back equal:
 * the same heads and every version with its number, author, time and message; saving again continues the numbering.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/index.js";
import type { PromptSave, PromptStore } from "../../src/storage/contracts/prompt-store.js";
import { allPromptVersions, copyPrompts } from "../../src/storage/copy/copy-prompts.js";
import { startPostgres } from "../helpers/postgres-server.js";

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

const save = (name: string, owner: string, template: string, at: string, extra: Partial<PromptSave> = {}): PromptSave => ({
  name,
  owner,
  labels: [],
  ...extra,
  version: { type: "text", template, variables: [], author: owner, createdAt: at, ...(extra.version ?? {}) },
});

async function snapshot(store: PromptStore) {
  const page = await store.listPrompts({ viewer: { owner: "", admin: true }, limit: 100 });
  return Promise.all(page.prompts.map(async (prompt) => ({ prompt, versions: await allPromptVersions(store, prompt.name) })));
}

describe.skipIf(!server)("copying the prompt store from SQLite to PostgreSQL", () => {
  it("copies every prompt with every version, and the copy reads back equal", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kai-prompt-copy-"));
    const source = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    const target = await openStore({ kind: "postgres", url: await server!.createDatabase("promptcopy"), poolSize: 2 });
    try {
      const from = source.promptStore();
      await from.savePrompt(save("a", "alice", "one", "2030-01-01T00:00:00.000Z", { tags: ["x"], description: "first" }));
      await from.savePrompt(save("a", "alice", "two", "2030-01-02T00:00:00.000Z", { labels: ["staging"], visibility: "shared" }));
      await from.savePrompt(save("a", "alice", "one", "2030-01-03T00:00:00.000Z", { version: { type: "text", template: "one", variables: [], author: "admin", createdAt: "2030-01-03T00:00:00.000Z", restoredFrom: 1, message: "back" } }));
      await from.setLabel("a", "production", 1);
      await from.savePrompt(save("b", "bob", "chat", "2030-02-01T00:00:00.000Z"));
      expect(await copyPrompts(from, target.promptStore(), () => undefined)).toEqual({ prompts: 2, versions: 4 });
      expect(await snapshot(target.promptStore())).toEqual(await snapshot(from));
      const next = await target.promptStore().savePrompt(save("a", "alice", "four", "2030-03-01T00:00:00.000Z"));
      expect(next.ok && next.version.version).toBe(4);
    } finally {
      await source.close();
      await target.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
