/**
 * `client.artifacts` against a real node: upload bytes and a stream (dedupe seen through the SDK), download whole
 * and by range with the SHA-256 as ETag, list by tag, share (a link that opens with plain fetch) and revoke, delete,
 * and the API's refusals as KaiApiErrors (404 for another uploader's artifact).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;
let bob: KaiClient;

const text = async (body: ReadableStream<Uint8Array>) => Buffer.from(await new Response(body).arrayBuffer()).toString();

beforeAll(async () => {
  registry = await startRegistry({ rateLimit: { enabled: false } });
  alice = await registry.clientWith(["artifacts:read", "artifacts:write"], "alice");
  bob = await registry.clientWith(["artifacts:read", "artifacts:write"], "bob");
});
afterAll(async () => {
  await registry?.close();
});

describe("client.artifacts", () => {
  it("uploads bytes and a stream of the same bytes: one blob, and the same name returns the same artifact", async () => {
    const bytes = new TextEncoder().encode("hello artifacts from the sdk");
    const first = await alice.artifacts.upload(bytes, { name: "hello.txt", tags: ["sdk"], contentType: "text/plain" });
    expect(first).toMatchObject({ created: true, deduplicated: false });
    expect(first.artifact).toMatchObject({ name: "hello.txt", contentType: "text/plain", size: bytes.length, tags: ["sdk"], sha256: createHash("sha256").update(bytes).digest("hex") });

    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 5));
        controller.enqueue(bytes.subarray(5));
        controller.close();
      },
    });
    const again = await alice.artifacts.upload(stream, { name: "hello.txt" });
    expect(again).toMatchObject({ created: false, deduplicated: true });
    expect(again.artifact.id).toBe(first.artifact.id);
  });

  it("downloads whole and by range, lists by tag, shares, revokes and deletes", async () => {
    const { artifact } = await alice.artifacts.upload(new TextEncoder().encode("0123456789"), { name: "digits.txt", tags: ["digits"], contentType: "text/plain" });
    const whole = await alice.artifacts.download(artifact.id);
    expect(whole).toMatchObject({ status: 200, length: 10, sha256: artifact.sha256 });
    expect(await text(whole.body)).toBe("0123456789");
    const part = await alice.artifacts.download(artifact.id, { range: { start: 7 } });
    expect(part.status).toBe(206);
    expect(await text(part.body)).toBe("789");

    expect((await alice.artifacts.list({ tag: "digits" })).artifacts.map((item) => item.id)).toEqual([artifact.id]);
    expect(await alice.artifacts.get(artifact.id)).toEqual(artifact);
    expect(await alice.artifacts.preview(artifact.id)).toEqual({ kind: "text", contentType: "text/plain", excerpt: "0123456789", truncated: false });

    const share = await alice.artifacts.share(artifact.id, 600);
    expect(Date.parse(share.expiresAt) - Date.parse(share.createdAt)).toBe(600_000);
    expect(await (await fetch(share.url)).text()).toBe("0123456789");
    await alice.artifacts.revokeShare(artifact.id, share.id);
    expect((await fetch(share.url)).status).toBe(403);

    await alice.artifacts.delete(artifact.id);
    await expect(alice.artifacts.get(artifact.id)).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("keeps uploaders apart: another's artifact is not found", async () => {
    const { artifact } = await alice.artifacts.upload(new TextEncoder().encode("alice only"), { name: "private.txt" });
    const refused = await bob.artifacts.get(artifact.id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KaiApiError);
    expect(refused).toMatchObject({ status: 404, code: "not_found" });
    await expect(bob.artifacts.download(artifact.id)).rejects.toMatchObject({ status: 404 });
  });
});
