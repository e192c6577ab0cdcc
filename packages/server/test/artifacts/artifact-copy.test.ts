/**
 * `kai storage copy`'s artifact part (src/storage/copy/copy-artifacts.ts) from a real SQLite store to a real
 * PostgreSQL one (memory when PostgreSQL is missing): every artifact arrives with its id, tags and metadata, and the
 * blobs' reference counts come out as they were.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import type { Artifact } from "@kai/protocol";
import { openStore } from "../../src/storage/index.js";
import { copyArtifacts } from "../../src/storage/copy/copy-artifacts.js";
import { startPostgres } from "../helpers/postgres-server.js";

const postgres = await startPostgres();
afterAll(async () => {
  await postgres?.stop();
});

const digest = (n: number) => n.toString(16).padStart(64, "0");

it("copies every artifact with its id and the same blob reference counts", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-artifact-copy-"));
  const source = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
  const target = postgres ? await openStore({ kind: "postgres", url: await postgres.createDatabase("artifactcopy"), poolSize: 3 }) : await openStore({ kind: "memory" });
  try {
    const made: Artifact[] = [];
    // 1,203 artifacts over 3 pages, 401 blobs shared by three artifacts each.
    for (let i = 0; i < 1203; i++) {
      const artifact: Artifact = {
        id: `art_${String(1_000_000 + i).padStart(20, "0")}`,
        name: `file-${i}.bin`,
        contentType: i % 2 ? "image/png" : "text/plain",
        size: i,
        sha256: digest(i % 401),
        uploader: i % 3 ? "alice" : "bob",
        tags: i % 5 ? [] : ["fifth"],
        createdAt: "2030-01-02T03:04:05.000Z",
        encrypted: false,
      };
      await source.artifactStore().addArtifact(artifact);
      made.push(artifact);
    }
    const lines: string[] = [];
    expect(await copyArtifacts(source.artifactStore(), target.artifactStore(), (line) => lines.push(line))).toEqual({ artifacts: 1203 });
    expect(lines.join("\n")).toContain("1203 copied");
    for (const artifact of [made[0]!, made[600]!, made[1202]!]) expect(await target.artifactStore().getArtifact(artifact.id)).toEqual(artifact);
    for (const n of [0, 200, 400]) expect(await target.artifactStore().blobReferences(digest(n))).toBe(3);
    const fifth = await target.artifactStore().listArtifacts({ limit: 500, tag: "fifth" });
    expect(fifth.artifacts.length).toBe(made.filter((artifact) => artifact.tags.includes("fifth")).length);
  } finally {
    await source.close();
    await target.close();
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
