/**
 * `client.artifacts.preview` and `.thumbnail` against a real node: an image's preview and its WebP thumbnail (with
 * its ETag), rendered Markdown, and the refusal of a thumbnail for text as a KaiApiError `preview_unavailable`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;
/** A whole 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

beforeAll(async () => {
  registry = await startRegistry({ rateLimit: { enabled: false } });
  alice = await registry.clientWith(["artifacts:read", "artifacts:write"], "alice");
});
afterAll(async () => {
  await registry?.close();
});

describe("client.artifacts previews", () => {
  it("gives an image's preview and its thumbnail, Markdown as sanitised HTML, and refuses a thumbnail of text", async () => {
    const { artifact } = await alice.artifacts.upload(new Uint8Array(PNG), { name: "pixel.png" });
    expect(await alice.artifacts.preview(artifact.id)).toEqual({ kind: "image", contentType: "image/png", width: 1, height: 1, thumbnail: `/api/artifacts/${artifact.id}/thumbnail` });
    const thumbnail = await alice.artifacts.thumbnail(artifact.id);
    expect(thumbnail.contentType).toBe("image/webp");
    expect(Buffer.from(thumbnail.bytes.subarray(0, 4)).toString("latin1")).toBe("RIFF");
    expect(Buffer.from(thumbnail.bytes.subarray(8, 12)).toString("latin1")).toBe("WEBP");
    expect(thumbnail.etag).toMatch(/^"[0-9a-f]{64}"$/);

    const markdown = (await alice.artifacts.upload(new TextEncoder().encode("# Hi\n\n<script>alert(1)</script>[x](javascript:alert(1))"), { name: "hi.md", contentType: "text/markdown" })).artifact;
    const preview = await alice.artifacts.preview(markdown.id);
    expect(preview).toMatchObject({ kind: "markdown", remoteImages: 0, truncated: false });
    expect(preview.kind === "markdown" && preview.html).not.toMatch(/<script|href="javascript/);

    const text = (await alice.artifacts.upload(new TextEncoder().encode("plain"), { name: "plain.txt", contentType: "text/plain" })).artifact;
    const refused = await alice.artifacts.thumbnail(text.id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KaiApiError);
    expect((refused as KaiApiError).code).toBe("preview_unavailable");
    expect((refused as KaiApiError).status).toBe(422);
  });
});
