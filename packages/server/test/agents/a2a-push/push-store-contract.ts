/**
 * @module test/agents/a2a-push/push-store-contract
 * The conformance suite every `A2aPushStore` backend must pass (src/storage/contracts/a2a-push-store.ts): put and
 * read back, list by task and in all (task then id), a put of an existing config replaces it but keeps its delivery
 * position, the position only moves forward, delete, and (durable backends) all of it after a reopen.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageBackend } from "../../../src/storage/contracts/storage-backend.js";
import type { A2aPushStore, StoredPushConfig } from "../../../src/storage/contracts/a2a-push-store.js";

export interface OpenedPushBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  /** Durable backends: the same database opened again. */
  reopen?: () => Promise<StorageBackend>;
}

const config = (taskId: string, id: string, overrides: Partial<StoredPushConfig> = {}): StoredPushConfig => ({
  taskId,
  id,
  owner: "alice",
  url: `https://hooks.example/${taskId}/${id}`,
  scheme: "Bearer",
  sealed: "v1.sealed.bytes.tag",
  deliveredSeq: 0,
  createdAt: "2030-05-06T07:08:09.000Z",
  ...overrides,
});

export function runPushStoreContract(name: string, open: () => Promise<OpenedPushBackend>): void {
  describe(`A2A push store contract: ${name}`, () => {
    let opened: OpenedPushBackend;
    let store: A2aPushStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.backend.a2aPushStore();
    });
    afterEach(async () => {
      await opened.backend.close().catch(() => undefined);
      await opened.cleanup();
    });

    it("stores a config and reads it back; an unknown one is null", async () => {
      const put = await store.putConfig(config("t_1", "a", { deliveredSeq: 3 }));
      expect(put).toEqual(config("t_1", "a", { deliveredSeq: 3 }));
      expect(await store.getConfig("t_1", "a")).toEqual(config("t_1", "a", { deliveredSeq: 3 }));
      expect(await store.getConfig("t_1", "b")).toBeNull();
      expect(await store.getConfig("t_2", "a")).toBeNull();
    });

    it("keeps a config without credentials as null columns", async () => {
      await store.putConfig(config("t_1", "plain", { scheme: null, sealed: null }));
      expect(await store.getConfig("t_1", "plain")).toMatchObject({ scheme: null, sealed: null });
    });

    it("lists a task's configs by id, and every config by task then id", async () => {
      await store.putConfig(config("t_2", "b"));
      await store.putConfig(config("t_1", "z"));
      await store.putConfig(config("t_1", "a"));
      expect((await store.listConfigs("t_1")).map((row) => row.id)).toEqual(["a", "z"]);
      expect(await store.listConfigs("t_none")).toEqual([]);
      expect((await store.listAllConfigs(10)).map((row) => `${row.taskId}/${row.id}`)).toEqual(["t_1/a", "t_1/z", "t_2/b"]);
      expect((await store.listAllConfigs(2)).map((row) => `${row.taskId}/${row.id}`)).toEqual(["t_1/a", "t_1/z"]);
    });

    it("replacing a config changes its receiver but keeps how far its delivery got and when it was made", async () => {
      await store.putConfig(config("t_1", "a", { deliveredSeq: 2 }));
      await store.advanceConfig("t_1", "a", 7);
      const replaced = await store.putConfig(config("t_1", "a", { url: "https://other.example/hook", scheme: null, sealed: null, deliveredSeq: 0, createdAt: "2031-01-01T00:00:00.000Z" }));
      expect(replaced).toMatchObject({ url: "https://other.example/hook", scheme: null, sealed: null, deliveredSeq: 7, createdAt: "2030-05-06T07:08:09.000Z" });
      expect(await store.getConfig("t_1", "a")).toEqual(replaced);
    });

    it("moves the delivery position forward only, and says when the config is gone", async () => {
      await store.putConfig(config("t_1", "a"));
      expect(await store.advanceConfig("t_1", "a", 5)).toBe(true);
      expect(await store.advanceConfig("t_1", "a", 3)).toBe(true);
      expect((await store.getConfig("t_1", "a"))?.deliveredSeq).toBe(5);
      expect(await store.advanceConfig("t_1", "missing", 9)).toBe(false);
    });

    it("deletes one config and says whether it existed", async () => {
      await store.putConfig(config("t_1", "a"));
      await store.putConfig(config("t_1", "b"));
      expect(await store.deleteConfig("t_1", "a")).toBe(true);
      expect(await store.deleteConfig("t_1", "a")).toBe(false);
      expect((await store.listConfigs("t_1")).map((row) => row.id)).toEqual(["b"]);
    });
  });
}

/** The durable backends: what was stored is there after the database is opened again. */
export function runPushStoreDurability(name: string, open: () => Promise<OpenedPushBackend & { reopen: () => Promise<StorageBackend> }>): void {
  describe(`A2A push store contract: ${name}, reopened`, () => {
    it("keeps configs and their delivery position across a reopen", async () => {
      const opened = await open();
      const store = opened.backend.a2aPushStore();
      await store.putConfig(config("t_1", "a"));
      await store.advanceConfig("t_1", "a", 4);
      await opened.backend.close();
      const again = await opened.reopen();
      try {
        expect(await again.a2aPushStore().getConfig("t_1", "a")).toEqual(config("t_1", "a", { deliveredSeq: 4 }));
      } finally {
        await again.close();
        await opened.cleanup();
      }
    });
  });
}
