/**
 * Artifacts end to end over HTTP on a real server (SQLite, blobs on disk): streamed upload (raw and multipart) with
 * SHA-256 and a sniffed content type, dedupe with reference counting down to the file on disk, download with Range,
 * ETag and If-None-Match, the size limit (announced and streamed), isolation between uploaders, listing filters,
 * and share links (public, tampered, expired, revoked, deleted).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact, ArtifactShare, UploadArtifactResponse } from "@kai/protocol";
import { ShareLinks } from "../../src/artifacts/share-links.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const MAX_BYTES = 256 * 1024;
/** A whole 1×1 PNG image. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

let server: TestServer;
let alice: string;
let bob: string;

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const blobPath = (digest: string) => join(server.dataDir, "artifacts", "blobs", digest.slice(0, 2), digest);

async function upload(bytes: Buffer, query = "", token = alice, contentType = "application/octet-stream"): Promise<{ status: number; body: UploadArtifactResponse }> {
  const response = await server.request(`/api/artifacts${query}`, { method: "POST", token, body: bytes, headers: { "content-type": contentType } });
  return { status: response.status, body: (await response.json()) as UploadArtifactResponse };
}

beforeAll(async () => {
  server = await startTestServer({ config: { artifacts: { maxBytes: MAX_BYTES } } });
  alice = await mintToken(server, ["artifacts:read", "artifacts:write"], "alice");
  bob = await mintToken(server, ["artifacts:read", "artifacts:write"], "bob");
});
afterAll(async () => {
  await server?.dispose();
});

describe("upload and download", () => {
  it("stores a raw upload under its SHA-256 with the content type sniffed from the bytes, not the one declared", async () => {
    const { status, body } = await upload(PNG, "?name=pixel.png&tags=images,test", alice, "text/plain");
    expect(status).toBe(201);
    expect(body.created).toBe(true);
    expect(body.artifact).toMatchObject({ name: "pixel.png", contentType: "image/png", size: PNG.length, sha256: sha(PNG), uploader: "alice", tags: ["images", "test"], encrypted: false });
    expect(existsSync(blobPath(sha(PNG)))).toBe(true);

    const meta = await server.request(`/api/artifacts/${body.artifact.id}`, { token: alice });
    expect(((await meta.json()) as { artifact: Artifact }).artifact).toEqual(body.artifact);

    const download = await server.request(`/api/artifacts/${body.artifact.id}/content`, { token: alice });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(download.headers.get("etag")).toBe(`"${sha(PNG)}"`);
    expect(download.headers.get("accept-ranges")).toBe("bytes");
    expect(download.headers.get("x-content-type-options")).toBe("nosniff");
    expect(download.headers.get("content-disposition")).toContain("attachment");
  });

  it("believes a declared type only for text, and calls unknown binary octet-stream", async () => {
    const json = await upload(Buffer.from('{"a":1}'), "?name=data.json", alice, "application/json; charset=utf-8");
    expect(json.body.artifact.contentType).toBe("application/json");
    const text = await upload(Buffer.from("plain words"), "?name=words", alice, "image/png");
    expect(text.body.artifact.contentType).toBe("text/plain");
    const binary = await upload(Buffer.from([0, 1, 2, 3, 250, 251, 0, 9]), "?name=blob.bin", alice, "text/plain");
    expect(binary.body.artifact.contentType).toBe("application/octet-stream");
    // No Content-Type at all: the bytes are still the file.
    const untyped = await server.request("/api/artifacts?name=untyped", { method: "POST", token: alice, body: new Uint8Array(Buffer.from("no type given")) });
    expect(untyped.status).toBe(201);
    expect(((await untyped.json()) as UploadArtifactResponse).artifact).toMatchObject({ contentType: "text/plain", size: 13 });
    // Bytes that start like a format and then are not one: stored, whatever the sniffer makes of them.
    for (let i = 0; i < 5; i++) {
      const broken = await upload(Buffer.concat([PNG.subarray(0, 24), randomBytes(200)]), `?name=broken-${i}.png`);
      expect(broken.status).toBe(201);
    }
  });

  it("takes a multipart upload with its fields, streamed like a raw one", async () => {
    const bytes = Buffer.from("# Notes\n\nsome markdown\n");
    const form = new FormData();
    form.append("name", "notes.md");
    form.append("tags", "docs");
    form.append("file", new Blob([bytes], { type: "text/markdown" }), "ignored-name.md");
    const response = await server.request("/api/artifacts", { method: "POST", token: alice, body: form });
    expect(response.status).toBe(201);
    const body = (await response.json()) as UploadArtifactResponse;
    expect(body.artifact).toMatchObject({ name: "notes.md", contentType: "text/markdown", tags: ["docs"], sha256: sha(bytes), size: bytes.length });
  });

  it("serves one byte range (206), a suffix, 416 outside the file, and 304 for a current ETag", async () => {
    const bytes = Buffer.from("0123456789abcdefghij");
    const { body } = await upload(bytes, "?name=range.txt", alice, "text/plain");
    const url = `/api/artifacts/${body.artifact.id}/content`;

    const part = await server.request(url, { token: alice, headers: { range: "bytes=2-5" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-5/20");
    expect(await part.text()).toBe("2345");

    const suffix = await server.request(url, { token: alice, headers: { range: "bytes=-3" } });
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe("hij");

    const open = await server.request(url, { token: alice, headers: { range: "bytes=18-" } });
    expect(await open.text()).toBe("ij");

    const outside = await server.request(url, { token: alice, headers: { range: "bytes=20-30" } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe("bytes */20");
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe("range_not_satisfiable");

    const cached = await server.request(url, { token: alice, headers: { "if-none-match": `"${sha(bytes)}"` } });
    expect(cached.status).toBe(304);

    // A stale If-Range: the whole new content, not a range of it.
    const stale = await server.request(url, { token: alice, headers: { range: "bytes=0-1", "if-range": '"0000"' } });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(bytes.toString());
  });
});

describe("bytes missing from the blob store", () => {
  it("answers artifact_bytes_missing naming the artifact and what to do, not an internal error", async () => {
    // What a restore without --with-artifacts leaves until the old store's files are copied in: the record, no bytes.
    const bytes = randomBytes(64);
    const { body } = await upload(bytes, "?name=restored-without-bytes.bin");
    rmSync(blobPath(sha(bytes)));
    const download = await server.request(`/api/artifacts/${body.artifact.id}/content`, { token: alice });
    expect(download.status).toBe(500);
    const error = ((await download.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("artifact_bytes_missing");
    expect(error.message).toBe(
      `the bytes of artifact ${body.artifact.id} are not in the filesystem blob store: after a restore without --with-artifacts, copy the old node's artifacts there (or point artifacts.path or artifacts.store at the old store)`,
    );
  });
});

describe("previews", () => {
  const preview = async (id: string) => ((await (await server.request(`/api/artifacts/${id}/preview`, { token: alice })).json()) as { preview: Record<string, unknown> }).preview;

  it("gives text an excerpt (source, not rendered), JSON re-indented, Markdown rendered and sanitised, images their size (more: artifact-previews.test.ts)", async () => {
    const markdown = await upload(Buffer.from("# Title\n\n<script>alert(1)</script> text"), "?name=readme.md", alice, "text/markdown");
    expect(await preview(markdown.body.artifact.id)).toEqual({ kind: "markdown", contentType: "text/markdown", html: "<h1>Title</h1>\n text", truncated: false, remoteImages: 0 });
    const html = await upload(Buffer.from("<p>hi</p><script>alert(1)</script>"), "?name=page.html", alice, "text/html");
    expect(await preview(html.body.artifact.id)).toEqual({ kind: "text", contentType: "text/html", excerpt: "<p>hi</p><script>alert(1)</script>", truncated: false });

    const json = await upload(Buffer.from('{"a":[1,2],"b":{"c":true}}'), "?name=doc.json", alice, "application/json");
    expect(await preview(json.body.artifact.id)).toEqual({ kind: "json", excerpt: JSON.stringify({ a: [1, 2], b: { c: true } }, null, 2), truncated: false, valid: true });

    // Long text: cut at 4,000 characters, never inside a character (each "é" is two bytes).
    const long = await upload(Buffer.from("é".repeat(10_000)), "?name=long.txt", alice, "text/plain");
    expect(await preview(long.body.artifact.id)).toEqual({ kind: "text", contentType: "text/plain", excerpt: "é".repeat(4000), truncated: true });

    const image = await upload(PNG, "?name=preview.png");
    expect(await preview(image.body.artifact.id)).toEqual({ kind: "image", contentType: "image/png", width: 1, height: 1, thumbnail: `/api/artifacts/${image.body.artifact.id}/thumbnail` });
    const binary = await upload(Buffer.from([0, 1, 2, 3]), "?name=preview.bin");
    expect(await preview(binary.body.artifact.id)).toMatchObject({ kind: "none", contentType: "application/octet-stream", reason: expect.stringContaining("application/octet-stream") });
  });
});

describe("dedupe and reference counting", () => {
  it("stores identical bytes once and removes them from disk only with the last artifact", async () => {
    const bytes = randomBytes(50_000);
    const digest = sha(bytes);
    const first = await upload(bytes, "?name=a.bin");
    expect(first.body).toMatchObject({ created: true, deduplicated: false });

    const again = await upload(bytes, "?name=a.bin");
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, deduplicated: true });
    expect(again.body.artifact.id).toBe(first.body.artifact.id);

    const renamed = await upload(bytes, "?name=b.bin");
    expect(renamed.body).toMatchObject({ created: true, deduplicated: true });
    const byBob = await upload(bytes, "?name=a.bin", bob);
    expect(byBob.body).toMatchObject({ created: true, deduplicated: true });

    expect((await server.request(`/api/artifacts/${first.body.artifact.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    expect((await server.request(`/api/artifacts/${first.body.artifact.id}`, { token: alice })).status).toBe(404);
    expect(existsSync(blobPath(digest))).toBe(true);
    const stillThere = await server.request(`/api/artifacts/${byBob.body.artifact.id}/content`, { token: bob });
    expect(Buffer.from(await stillThere.arrayBuffer()).equals(bytes)).toBe(true);

    await server.request(`/api/artifacts/${renamed.body.artifact.id}`, { method: "DELETE", token: alice });
    expect(existsSync(blobPath(digest))).toBe(true);
    await server.request(`/api/artifacts/${byBob.body.artifact.id}`, { method: "DELETE", token: bob });
    expect(existsSync(blobPath(digest))).toBe(false);
  });

  it("keeps the bytes of an upload that races the delete of the last artifact with the same bytes", async () => {
    for (let round = 0; round < 10; round++) {
      const bytes = randomBytes(20_000);
      const first = await upload(bytes, `?name=race-${round}-a.bin`);
      const [deleted, second] = await Promise.all([
        server.request(`/api/artifacts/${first.body.artifact.id}`, { method: "DELETE", token: alice }),
        upload(bytes, `?name=race-${round}-b.bin`),
      ]);
      expect(deleted.status).toBe(204);
      expect(second.status).toBe(201);
      const download = await server.request(`/api/artifacts/${second.body.artifact.id}/content`, { token: alice });
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    }
  });
});

describe("size limit", () => {
  const staging = () => readdirSync(join(server.dataDir, "artifacts", "staging"));

  it("refuses an announced oversize upload with 413 artifact_too_large before reading it", async () => {
    const response = await server.request("/api/artifacts?name=big", { method: "POST", token: alice, body: Buffer.alloc(MAX_BYTES + 1), headers: { "content-type": "application/octet-stream" } });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("artifact_too_large");
  });

  it("stops a streamed upload (no Content-Length) the moment it passes the limit, leaving nothing stored", async () => {
    const before = ((await (await server.request("/api/artifacts?limit=500", { token: alice })).json()) as { artifacts: Artifact[] }).artifacts.length;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the limit: the server answers long before the end.
        if (sent >= 64 * MAX_BYTES) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await server.request("/api/artifacts?name=stream", { method: "POST", token: alice, body, duplex: "half", headers: { "content-type": "application/octet-stream" } } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("artifact_too_large");
    expect(sent).toBeLessThan(64 * MAX_BYTES);
    expect(staging()).toEqual([]);
    const after = ((await (await server.request("/api/artifacts?limit=500", { token: alice })).json()) as { artifacts: Artifact[] }).artifacts.length;
    expect(after).toBe(before);
  });

  it("refuses a multipart file over the limit the same way", async () => {
    const form = new FormData();
    form.append("file", new Blob([Buffer.alloc(MAX_BYTES + 10, 1)]), "big.bin");
    const response = await server.request("/api/artifacts", { method: "POST", token: alice, body: form });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("artifact_too_large");
    expect(staging()).toEqual([]);
  });
});

describe("listing and isolation", () => {
  it("lists the caller's own artifacts by tag, type and name; another uploader's are not found", async () => {
    const mine = await upload(Buffer.from("carol's report"), "?name=Report-2030.txt&tags=isolation", alice, "text/plain");
    const theirs = await upload(Buffer.from("bob's report"), "?name=Report-bob.txt&tags=isolation", bob, "text/plain");
    const list = async (query: string, token = alice) => ((await (await server.request(`/api/artifacts${query}`, { token })).json()) as { artifacts: Artifact[] }).artifacts.map((item) => item.id);

    expect(await list("?tag=isolation")).toEqual([mine.body.artifact.id]);
    expect(await list("?tag=isolation", bob)).toEqual([theirs.body.artifact.id]);
    expect(await list("?tag=isolation&uploader=bob")).toEqual([]);
    expect(await list("?tag=isolation", server.adminToken)).toEqual([theirs.body.artifact.id, mine.body.artifact.id]);
    expect(await list("?tag=isolation&type=text/*")).toEqual([mine.body.artifact.id]);
    expect(await list("?tag=isolation&type=image/*")).toEqual([]);
    expect(await list("?q=report-2030")).toEqual([mine.body.artifact.id]);

    for (const path of [`/api/artifacts/${theirs.body.artifact.id}`, `/api/artifacts/${theirs.body.artifact.id}/content`]) {
      expect((await server.request(path, { token: alice })).status).toBe(404);
    }
    expect((await server.request(`/api/artifacts/${theirs.body.artifact.id}`, { method: "DELETE", token: alice })).status).toBe(404);
    expect((await server.request(`/api/artifacts/${theirs.body.artifact.id}/share`, { method: "POST", token: alice, json: {} })).status).toBe(404);
  });

  it("pages with a keyset cursor", async () => {
    for (let i = 0; i < 3; i++) await upload(Buffer.from(`page ${i}`), `?name=page-${i}&tags=paging`);
    const first = (await (await server.request("/api/artifacts?tag=paging&limit=2", { token: alice })).json()) as { artifacts: Artifact[]; nextCursor: string };
    expect(first.artifacts.map((item) => item.name)).toEqual(["page-2", "page-1"]);
    const second = (await (await server.request(`/api/artifacts?tag=paging&limit=2&cursor=${first.nextCursor}`, { token: alice })).json()) as { artifacts: Artifact[]; nextCursor: string | null };
    expect(second.artifacts.map((item) => item.name)).toEqual(["page-0"]);
    expect(second.nextCursor).toBeNull();
  });
});

describe("share links", () => {
  const share = async (id: string, json: unknown = {}) => {
    const response = await server.request(`/api/artifacts/${id}/share`, { method: "POST", token: alice, json });
    return { status: response.status, share: ((await response.json()) as { share: ArtifactShare }).share };
  };
  const code = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

  it("opens without a token, with Range, and lasts an hour by default", async () => {
    const bytes = Buffer.from("shared bytes");
    const { body } = await upload(bytes, "?name=shared.txt", alice, "text/plain");
    const made = await share(body.artifact.id);
    expect(made.status).toBe(201);
    expect(made.share.url).toBe(`${server.url}${made.share.path}`);
    const lifetime = Date.parse(made.share.expiresAt) - Date.parse(made.share.createdAt);
    expect(lifetime).toBe(3600 * 1000);

    const opened = await fetch(made.share.url);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toBe("shared bytes");
    const ranged = await fetch(made.share.url, { headers: { range: "bytes=0-5" } });
    expect(await ranged.text()).toBe("shared");
  });

  it("refuses a lifetime over seven days", async () => {
    const { body } = await upload(Buffer.from("ttl"), "?name=ttl.txt");
    expect((await share(body.artifact.id, { ttlSeconds: 7 * 24 * 3600 + 1 })).status).toBe(400);
    expect((await share(body.artifact.id, { ttlSeconds: 7 * 24 * 3600 })).status).toBe(201);
  });

  it("answers 403 share_link_invalid to a tampered, expired, revoked or orphaned link", async () => {
    const { body } = await upload(Buffer.from("guarded"), "?name=guarded.txt");
    const made = await share(body.artifact.id);
    const token = made.share.path.slice("/s/".length);
    const [payload, signature] = token.split(".") as [string, string];

    // Another artifact's id in the payload, the original signature.
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), a: "art_0000000000aaaaaaaaaaaaaaaa" })).toString("base64url");
    // One signature character changed, always to another one (replacing the end with a fixed "AA" left the token as it
    // was once in 256 runs, when the signature happened to end that way).
    const changed = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    for (const bad of [`${forged}.${signature}`, `${payload}.${changed}`, "not-a-token", `${payload}.${signature}.extra`]) {
      const response = await fetch(`${server.url}/s/${bad}`);
      expect(response.status).toBe(403);
      expect(await code(response)).toBe("share_link_invalid");
    }

    // Expired: signed by this node's own key, but its time is past.
    const links = new ShareLinks(server.nodeKey);
    const expired = links.sign({ s: made.share.id, a: body.artifact.id, e: Date.now() - 1000 });
    expect(await code(await fetch(`${server.url}/s/${expired}`))).toBe("share_link_invalid");

    // Revoked.
    expect((await fetch(made.share.url)).status).toBe(200);
    expect((await server.request(`/api/artifacts/${body.artifact.id}/shares/${made.share.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    const revoked = await fetch(made.share.url);
    expect(revoked.status).toBe(403);
    expect(await code(revoked)).toBe("share_link_invalid");

    // The artifact deleted.
    const other = await share(body.artifact.id);
    await server.request(`/api/artifacts/${body.artifact.id}`, { method: "DELETE", token: alice });
    expect(await code(await fetch(other.share.url))).toBe("share_link_invalid");
  });
});
