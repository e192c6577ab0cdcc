/**
 * @module test/prompts/prompt-store-contract
 * The conformance suite every `PromptStore` backend must pass (src/storage/contracts/prompt-store.ts): saves number
 * versions 1, 2, 3 and keep each one as saved; the head follows (tags, description, visibility unchanged when absent);
 * `latest` always points at the newest version, other labels move and are removed; a save by another owner stores
 * nothing; history newest first with a `before` cursor; delete; listing by name with visibility, owner, tag, full-text
 * (every word by prefix) and a cursor; and (durable backends) all of it after a reopen; with a `twin` (a second
 * instance on the same database) racing saves of one new prompt get distinct consecutive versions.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import { searchWords, type PromptSave, type PromptStore } from "../../src/storage/contracts/prompt-store.js";

export interface OpenedPromptBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<StorageBackend>;
  twin?: () => Promise<StorageBackend>;
}

const at = "2030-05-06T07:08:09.000Z";

function save(name: string, template: PromptSave["version"]["template"], extra: Partial<Omit<PromptSave, "version">> = {}): PromptSave {
  return {
    name,
    owner: "alice",
    labels: [],
    ...extra,
    version: { type: typeof template === "string" ? "text" : "chat", template, variables: [], author: extra.owner ?? "alice", createdAt: at },
  };
}

/** `it` when the backend survives a reopen; otherwise the case is not declared (nothing to skip). */
const itIf = (declared: boolean) => (declared ? it : () => undefined);

export function runPromptStoreContract(label: string, open: () => Promise<OpenedPromptBackend>, traits: { durable: boolean }): void {
  describe(`prompt store contract: ${label}`, () => {
    let opened: OpenedPromptBackend;
    let store: PromptStore;
    const viewer = { owner: "alice", admin: false };

    beforeEach(async () => {
      opened = await open();
      store = opened.backend.promptStore();
    });
    afterEach(async () => {
      await opened.backend.close();
      await opened.cleanup();
    });

    it("numbers versions from 1, keeps each as saved, and moves latest", async () => {
      const first = await store.savePrompt(save("greet", "Hello {{name}}", { tags: ["a"], description: "greets", visibility: "shared" }));
      expect(first).toMatchObject({ ok: true, version: { name: "greet", version: 1, template: "Hello {{name}}" }, prompt: { latestVersion: 1, labels: { latest: 1 }, owner: "alice", visibility: "shared" } });
      const chat = [{ role: "system" as const, content: "Be {{tone}}" }];
      const second = await store.savePrompt(save("greet", chat, { labels: ["production"] }));
      expect(second).toMatchObject({ ok: true, version: { version: 2, type: "chat", template: chat }, prompt: { latestVersion: 2, labels: { latest: 2, production: 2 } } });
      // Absent fields keep the head's values.
      expect(await store.getPrompt("greet")).toMatchObject({ tags: ["a"], description: "greets", visibility: "shared", createdAt: at });
      expect((await store.getVersion("greet", 1))?.template).toBe("Hello {{name}}");
      expect((await store.getVersion("greet", 2))?.template).toEqual(chat);
      expect(await store.getVersion("greet", 3)).toBeNull();
      expect(await store.getVersion("nope", 1)).toBeNull();
      expect(await store.getPrompt("nope")).toBeNull();
    });

    it("refuses a save by another owner and stores nothing", async () => {
      await store.savePrompt(save("mine", "v1"));
      expect(await store.savePrompt(save("mine", "theirs", { owner: "bob" }))).toEqual({ ok: false, reason: "owner_mismatch" });
      expect((await store.getPrompt("mine"))?.latestVersion).toBe(1);
      expect(await store.getVersion("mine", 2)).toBeNull();
    });

    it("moves, removes and refuses labels", async () => {
      await store.savePrompt(save("p", "one"));
      await store.savePrompt(save("p", "two"));
      expect((await store.setLabel("p", "production", 1))?.labels).toEqual({ latest: 2, production: 1 });
      expect((await store.setLabel("p", "production", 2))?.labels).toEqual({ latest: 2, production: 2 });
      expect(await store.setLabel("p", "staging", 3)).toBeNull();
      expect(await store.setLabel("missing", "staging", 1)).toBeNull();
      expect((await store.setLabel("p", "production", null))?.labels).toEqual({ latest: 2 });
      // A new save keeps the labels it does not move.
      await store.setLabel("p", "staging", 1);
      expect((await store.savePrompt(save("p", "three")))).toMatchObject({ prompt: { labels: { latest: 3, staging: 1 } } });
    });

    it("lists history newest first with a cursor", async () => {
      for (const text of ["a", "b", "c", "d"]) await store.savePrompt(save("h", text));
      expect((await store.listVersions("h", 2)).map((version) => version.version)).toEqual([4, 3]);
      expect((await store.listVersions("h", 2, 3)).map((version) => version.version)).toEqual([2, 1]);
      expect(await store.listVersions("h", 2, 1)).toEqual([]);
      expect(await store.listVersions("none", 5)).toEqual([]);
    });

    it("deletes a prompt with every version; the name starts again at 1", async () => {
      await store.savePrompt(save("gone", "x"));
      await store.savePrompt(save("gone", "y"));
      expect(await store.deletePrompt("gone")).toBe(true);
      expect(await store.deletePrompt("gone")).toBe(false);
      expect(await store.getPrompt("gone")).toBeNull();
      expect(await store.getVersion("gone", 1)).toBeNull();
      expect((await store.listPrompts({ viewer, words: ["x"], limit: 10 })).prompts).toEqual([]);
      expect(await store.savePrompt(save("gone", "z", { owner: "bob" }))).toMatchObject({ ok: true, version: { version: 1 }, prompt: { owner: "bob" } });
    });

    it("lists by name with visibility, owner, tag and a cursor", async () => {
      await store.savePrompt(save("b-mine", "t", { tags: ["x"] }));
      await store.savePrompt(save("a-shared", "t", { owner: "bob", visibility: "shared", tags: ["x", "y"] }));
      await store.savePrompt(save("c-private", "t", { owner: "bob" }));
      const names = async (query: Partial<Parameters<PromptStore["listPrompts"]>[0]>) =>
        (await store.listPrompts({ viewer, limit: 10, ...query })).prompts.map((prompt) => prompt.name);
      expect(await names({})).toEqual(["a-shared", "b-mine"]);
      expect(await names({ viewer: { owner: "root", admin: true } })).toEqual(["a-shared", "b-mine", "c-private"]);
      expect(await names({ owner: "bob" })).toEqual(["a-shared"]);
      expect(await names({ tag: "x" })).toEqual(["a-shared", "b-mine"]);
      expect(await names({ tag: "y" })).toEqual(["a-shared"]);
      const first = await store.listPrompts({ viewer, limit: 1 });
      expect(first.prompts.map((prompt) => prompt.name)).toEqual(["a-shared"]);
      expect(first.nextCursor).toBe("a-shared");
      const second = await store.listPrompts({ viewer, limit: 1, cursor: first.nextCursor! });
      expect(second.prompts.map((prompt) => prompt.name)).toEqual(["b-mine"]);
      expect(second.nextCursor).toBeNull();
    });

    it("searches every query word by prefix over name, description, tags and the newest template only", async () => {
      await store.savePrompt(save("support-reply", "Answer the customer politely about {{topic}}", { description: "Helpdesk answers", tags: ["team:care"] }));
      await store.savePrompt(save("summarise", "Summarise the following text", { tags: ["nlp"] }));
      await store.savePrompt(save("old", "Ancient wording"));
      await store.savePrompt(save("old", "Fresh wording"));
      const found = async (q: string) => (await store.listPrompts({ viewer, limit: 10, words: searchWords(q) })).prompts.map((prompt) => prompt.name);
      expect(await found("customer")).toEqual(["support-reply"]);
      expect(await found("CUST polit")).toEqual(["support-reply"]);
      expect(await found("helpdesk")).toEqual(["support-reply"]);
      expect(await found("care")).toEqual(["support-reply"]);
      expect(await found("support")).toEqual(["support-reply"]);
      expect(await found("the")).toEqual(["summarise", "support-reply"]);
      expect(await found("customer nlp")).toEqual([]);
      expect(await found("fresh")).toEqual(["old"]);
      expect(await found("ancient")).toEqual([]);
      // Search syntax in a query is just words.
      expect(await found('"cust*" OR NEAR(x) & | :* \'')).toEqual([]);
      expect(await found("summ* -cust")).toEqual([]);
    });

    itIf(traits.durable)("keeps every version and label across a reopen", async () => {
      await store.savePrompt(save("kept", "one", { tags: ["t"] }));
      await store.savePrompt(save("kept", "two", { labels: ["production"] }));
      await opened.backend.close();
      opened.backend = await opened.reopen!();
      store = opened.backend.promptStore();
      expect(await store.getPrompt("kept")).toMatchObject({ latestVersion: 2, labels: { latest: 2, production: 2 }, tags: ["t"] });
      expect((await store.getVersion("kept", 1))?.template).toBe("one");
      expect((await store.listPrompts({ viewer, limit: 5, words: ["two"] })).prompts.map((prompt) => prompt.name)).toEqual(["kept"]);
    });

    it("gives racing saves of one new prompt distinct consecutive versions (two instances when the backend has them)", async () => {
      const twin = opened.twin ? await opened.twin() : null;
      try {
        const other = twin ? twin.promptStore() : store;
        const outcomes = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? store : other).savePrompt(save("race", `v${index}`))));
        const numbers = outcomes.map((outcome) => (outcome.ok ? outcome.version.version : 0)).sort((a, b) => a - b);
        expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect((await store.getPrompt("race"))?.latestVersion).toBe(8);
      } finally {
        await twin?.close();
      }
    });
  });
}
