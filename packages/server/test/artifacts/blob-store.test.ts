/**
 * The blob store contract (blob-store-contract.ts) on the filesystem store, in a fresh directory per test; and the
 * sweep of stale staging files a crashed process left.
 */
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/artifacts/fs-blob-store.js";
import { runBlobStoreContract } from "./blob-store-contract.js";

runBlobStoreContract("filesystem", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-blobs-"));
  const store = await FsBlobStore.open(dir);
  return { store, staged: () => store.stagedCount(), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("filesystem blob store", () => {
  it("drops staging files older than a day at open, and keeps a recent one (another instance's upload)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kai-blobs-"));
    try {
      await FsBlobStore.open(dir);
      const old = join(dir, "staging", `${"a".repeat(32)}.part`);
      const recent = join(dir, "staging", `${"b".repeat(32)}.part`);
      await writeFile(old, "half an upload");
      await writeFile(recent, "an upload in progress");
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(old, twoDaysAgo, twoDaysAgo);
      await FsBlobStore.open(dir);
      expect(await readdir(join(dir, "staging"))).toEqual([`${"b".repeat(32)}.part`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
