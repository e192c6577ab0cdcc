/**
 * `POST /api/artifacts/gc` end to end on a real server (SQLite, blobs on disk): an admin's dry run counts and removes
 * nothing, the sweep then removes what a crash left (a blob no artifact names and a staged upload, both made older
 * than the grace on disk) and keeps the artifacts' blobs and anything young; anyone but an admin is refused, and a
 * malformed body is a 400.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactGcResponseSchema, ErrorBodySchema, UploadArtifactResponseSchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const blobPath = (digest: string) => join(server.dataDir, "artifacts", "blobs", digest.slice(0, 2), digest);

/** Writes a file as a crash leaves it, last written two days ago. */
function leftover(path: string, bytes: Buffer): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
  const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
  utimesSync(path, twoDaysAgo, twoDaysAgo);
}

const gc = async (body: unknown, token: string = server.adminToken) => server.request("/api/artifacts/gc", { method: "POST", token, json: body });

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["artifacts:read", "artifacts:write"], "alice");
});
afterAll(async () => {
  await server?.dispose();
});

describe("POST /api/artifacts/gc", () => {
  it("counts in a dry run, then removes old leftovers and keeps the artifacts' blobs and young ones", async () => {
    const kept = Buffer.from("an artifact's bytes");
    const uploaded = await server.request("/api/artifacts?name=kept.txt", { method: "POST", token: alice, body: kept, headers: { "content-type": "text/plain" } });
    expect(uploaded.status).toBe(201);
    const { artifact } = UploadArtifactResponseSchema.parse(await uploaded.json());
    // Its blob made old too: being named is what keeps it, not its age.
    utimesSync(blobPath(artifact.sha256), new Date(Date.now() - 48 * 3_600_000), new Date(Date.now() - 48 * 3_600_000));
    const orphan = Buffer.from("a blob whose artifact was never recorded");
    leftover(blobPath(sha(orphan)), orphan);
    const young = Buffer.from("a blob committed a moment ago, its artifact on its way");
    mkdirSync(join(blobPath(sha(young)), ".."), { recursive: true });
    writeFileSync(blobPath(sha(young)), young);
    const staged = join(server.dataDir, "artifacts", "staging", `${"c".repeat(32)}.part`);
    leftover(staged, Buffer.from("half an upload"));

    const dry = await gc({ dryRun: true });
    expect(dry.status).toBe(200);
    const counted = ArtifactGcResponseSchema.parse(await dry.json());
    expect(counted).toEqual({ dryRun: true, graceHours: 24, result: { stagedRemoved: 1, orphansRemoved: 1, bytesFreed: orphan.length + "half an upload".length, kept: 2 } });
    expect(existsSync(blobPath(sha(orphan)))).toBe(true);
    expect(existsSync(staged)).toBe(true);

    const swept = ArtifactGcResponseSchema.parse(await (await gc({})).json());
    expect(swept).toEqual({ ...counted, dryRun: false });
    expect(existsSync(blobPath(sha(orphan)))).toBe(false);
    expect(existsSync(staged)).toBe(false);
    expect(existsSync(blobPath(sha(young)))).toBe(true);
    const content = await server.request(`/api/artifacts/${artifact.id}/content`, { token: alice });
    expect(Buffer.from(await content.arrayBuffer()).equals(kept)).toBe(true);
  });

  it("is for admins only", async () => {
    const refused = await gc({ dryRun: true }, alice);
    expect(refused.status).toBe(403);
    expect(ErrorBodySchema.parse(await refused.json()).error.code).toBe("forbidden");
  });

  it("refuses a body that is not {dryRun?: boolean}", async () => {
    for (const body of [{ dryRun: "yes" }, { dryRun: true, extra: 1 }, [], "true"]) {
      const refused = await gc(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(ErrorBodySchema.parse(await refused.json()).error.code).toBe("validation_failed");
    }
  });
});
