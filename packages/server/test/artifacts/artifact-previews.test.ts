/**
 * Artifact previews end to end over HTTP on a real server (SQLite, blobs on disk): thumbnails of real PNG, JPEG, WebP
 * and GIF images made by sharp in the test (bounded, WebP, kept as a derived blob and served with an ETag, removed
 * with their source), images refused (a header announcing a decompression bomb, a JPEG cut short, SVG never
 * rendered), Markdown with hostile content rendered to HTML that a DOM walk finds clean, PDFs built with pdf-lib
 * (page count and title) and broken ones (said so, never a 5xx), and random bytes behind each format's signature.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { JSDOM } from "jsdom";
import { PDFDocument } from "pdf-lib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact, ArtifactPreview, ErrorBody } from "@kai/protocol";
import { thumbnailKey } from "../../src/artifacts/previews/thumbnail-cache.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;
let bob: string;

const sha = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const blobPath = (digest: string) => join(server.dataDir, "artifacts", "blobs", digest.slice(0, 2), digest);

async function upload(bytes: Buffer | string, name: string, contentType = "application/octet-stream", token = alice): Promise<Artifact> {
  const response = await server.request(`/api/artifacts?name=${encodeURIComponent(name)}`, { method: "POST", token, body: bytes, headers: { "content-type": contentType } });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return ((await response.json()) as { artifact: Artifact }).artifact;
}

async function preview(id: string, token = alice): Promise<ArtifactPreview> {
  const response = await server.request(`/api/artifacts/${id}/preview`, { token });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { preview: ArtifactPreview }).preview;
}

const thumbnail = (id: string, headers: Record<string, string> = {}, token = alice) => server.request(`/api/artifacts/${id}/thumbnail`, { token, headers });

async function expectUnavailable(response: Response, pattern: RegExp): Promise<void> {
  const body = (await response.json()) as ErrorBody;
  expect(response.status, JSON.stringify(body)).toBe(422);
  expect(body.error.code).toBe("preview_unavailable");
  expect(body.error.message).toMatch(pattern);
}

/** A picture with some structure (so every encoder has something to keep), of `width` × `height`. */
const picture = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: "gaussian", mean: 120, sigma: 40 } } });

/** A PNG whose header announces `width` × `height` pixels over a tiny body: what a decompression bomb looks like. */
function pngAnnouncing(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk("IEND", Buffer.alloc(0))]);
}

beforeAll(async () => {
  server = await startTestServer({ config: { artifacts: { maxBytes: 8 * 1024 * 1024 } } });
  alice = await mintToken(server, ["artifacts:read", "artifacts:write"], "alice");
  bob = await mintToken(server, ["artifacts:read", "artifacts:write"], "bob");
});
afterAll(async () => {
  await server?.dispose();
});

describe("image thumbnails", () => {
  const formats = [
    { type: "image/png", make: () => picture(1200, 800).png().toBuffer(), size: [1200, 800], thumb: [256, 171] },
    { type: "image/jpeg", make: () => picture(640, 960).jpeg().toBuffer(), size: [640, 960], thumb: [171, 256] },
    { type: "image/webp", make: () => picture(900, 300).webp().toBuffer(), size: [900, 300], thumb: [256, 85] },
    { type: "image/gif", make: () => sharp({ create: { width: 300, height: 300, channels: 3, background: "#336699" } }).gif().toBuffer(), size: [300, 300], thumb: [256, 256] },
  ] as const;

  for (const format of formats) {
    it(`${format.type}: the preview gives the size and the thumbnail is WebP within 256 px, kept and served with an ETag`, async () => {
      const bytes = await format.make();
      const artifact = await upload(bytes, `picture.${format.type.split("/")[1]}`);
      expect(artifact.contentType).toBe(format.type);
      expect(await preview(artifact.id)).toEqual({ kind: "image", contentType: format.type, width: format.size[0], height: format.size[1], thumbnail: `/api/artifacts/${artifact.id}/thumbnail` });

      const first = await thumbnail(artifact.id);
      expect(first.status).toBe(200);
      expect(first.headers.get("content-type")).toBe("image/webp");
      expect(first.headers.get("x-content-type-options")).toBe("nosniff");
      const etag = first.headers.get("etag");
      expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
      const made = Buffer.from(await first.arrayBuffer());
      const meta = await sharp(made).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["webp", ...format.thumb]);

      // Kept as a derived blob beside the source, and served from there the next time (the same bytes).
      expect(existsSync(blobPath(thumbnailKey(artifact.sha256)))).toBe(true);
      const again = await thumbnail(artifact.id);
      expect(Buffer.from(await again.arrayBuffer()).equals(made)).toBe(true);
      expect(again.headers.get("etag")).toBe(etag);

      const current = await thumbnail(artifact.id, { "if-none-match": etag! });
      expect(current.status).toBe(304);
    });
  }

  it("never enlarges a small image, and concurrent first requests all get the one thumbnail", async () => {
    const artifact = await upload(await picture(40, 30).png().toBuffer(), "small.png");
    const answers = await Promise.all([1, 2, 3].map(() => thumbnail(artifact.id)));
    const bodies = await Promise.all(answers.map(async (answer) => Buffer.from(await answer.arrayBuffer())));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(bodies.every((body) => body.equals(bodies[0]!))).toBe(true);
    const meta = await sharp(bodies[0]).metadata();
    expect([meta.width, meta.height]).toEqual([40, 30]);
  });

  it("a header announcing too many pixels (a decompression bomb) is refused before anything is decoded", async () => {
    const artifact = await upload(pngAnnouncing(30_000, 30_000), "bomb.png");
    expect(artifact.contentType).toBe("image/png");
    const shown = await preview(artifact.id);
    expect(shown).toMatchObject({ kind: "unavailable", contentType: "image/png" });
    expect(shown.kind === "unavailable" && shown.reason).toMatch(/30000 × 30000 pixels/);
    await expectUnavailable(await thumbnail(artifact.id), /30000 × 30000 pixels/);
  });

  it("a JPEG cut short gets no thumbnail, and says so (422, not a 5xx); nothing is kept", async () => {
    const whole = await picture(600, 400).jpeg().toBuffer();
    const artifact = await upload(whole.subarray(0, whole.length >> 1), "half.jpg");
    expect(artifact.contentType).toBe("image/jpeg");
    await expectUnavailable(await thumbnail(artifact.id), /could not be decoded/);
    expect(existsSync(blobPath(thumbnailKey(artifact.sha256)))).toBe(false);
  });

  it("SVG is never rendered: its preview is a text excerpt and it has no thumbnail", async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>';
    const artifact = await upload(svg, "drawing.svg", "image/svg+xml");
    expect(artifact.contentType).toBe("image/svg+xml");
    expect(await preview(artifact.id)).toEqual({ kind: "text", contentType: "image/svg+xml", excerpt: svg, truncated: false });
    await expectUnavailable(await thumbnail(artifact.id), /no thumbnail for image\/svg\+xml/);
  });

  it("other types have no thumbnail (422), another uploader's image is not found (404)", async () => {
    const text = await upload("just text", "note.txt", "text/plain");
    await expectUnavailable(await thumbnail(text.id), /no thumbnail for text\/plain/);
    const image = await upload(await picture(20, 20).png().toBuffer(), "mine.png");
    expect((await thumbnail(image.id, {}, bob)).status).toBe(404);
    expect((await server.request(`/api/artifacts/${image.id}/preview`, { token: bob })).status).toBe(404);
  });

  it("deleting the image's last artifact removes its kept thumbnail too", async () => {
    const artifact = await upload(await picture(300, 200).png().toBuffer(), "gone.png");
    expect((await thumbnail(artifact.id)).status).toBe(200);
    expect(existsSync(blobPath(thumbnailKey(artifact.sha256)))).toBe(true);
    expect((await server.request(`/api/artifacts/${artifact.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    expect(existsSync(blobPath(artifact.sha256))).toBe(false);
    expect(existsSync(blobPath(thumbnailKey(artifact.sha256)))).toBe(false);
  });

  it("an upload that happens to sit under a thumbnail's key is never served as the thumbnail", async () => {
    const bytes = await picture(120, 80).png().toBuffer();
    // The name a thumbnail key is the digest of, uploaded as a file: its blob is under that key.
    const preimage = `kai-derived-blob:thumbnail:v1:webp:256:${sha(bytes)}`;
    const squatter = await upload(preimage, "squat.txt", "text/plain", bob);
    expect(squatter.sha256).toBe(thumbnailKey(sha(bytes)));
    const artifact = await upload(bytes, "real.png");
    const answer = await thumbnail(artifact.id);
    expect(answer.status).toBe(200);
    expect((await sharp(Buffer.from(await answer.arrayBuffer())).metadata()).format).toBe("webp");
    // The squatter's file is untouched, and stays after the image goes.
    expect((await server.request(`/api/artifacts/${artifact.id}`, { method: "DELETE", token: alice })).status).toBe(204);
    const kept = await server.request(`/api/artifacts/${squatter.id}/content`, { token: bob });
    expect(await kept.text()).toBe(preimage);
  });
});

describe("Markdown, rendered and sanitised", () => {
  const hostile = [
    "# Report",
    "",
    "Some **bold** text and a [good link](https://example.com/page) and [mail](mailto:a@example.com) and [here](#report).",
    "",
    "| a | b |",
    "|:--|--:|",
    "| 1 | 2 |",
    "",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="https://tracker.example/pixel.gif" alt="tracker">',
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">',
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="svg">',
    '<img src="/api/artifacts" alt="relative">',
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">upper</a> <a href="jav&#x61;script:alert(1)">entity</a> <a href="data:text/html,<script>alert(1)</script>">data</a>',
    '<a href="//evil.example/x">protocol-relative</a> <a href="/api/tokens">relative</a>',
    '<div onclick="alert(1)" style="position:fixed">div</div>',
    "<iframe src=\"https://evil.example\"></iframe><object data=x></object><embed src=x>",
    "<style>body { display: none }</style>",
    '<form action="https://evil.example"><input name=a><button formaction="javascript:alert(1)">go</button></form>',
    '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
    '<details open ontoggle="alert(1)"><summary>more</summary>hidden</details>',
    '<a href="https://example.com" data-remote-src="javascript:alert(1)" target="_top">own attributes</a>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example"><base href="https://evil.example/"><link rel=stylesheet href=https://evil.example/x.css>',
    "",
    "```js",
    "<script>not code</script>",
    "```",
  ].join("\n");

  /** Every element and attribute of `html` as a browser parses it. */
  function walk(html: string): { tags: string[]; attributes: { tag: string; name: string; value: string }[] } {
    const document = new JSDOM(`<body>${html}</body>`).window.document;
    const tags: string[] = [];
    const attributes: { tag: string; name: string; value: string }[] = [];
    for (const element of Array.from(document.body.querySelectorAll("*"))) {
      tags.push(element.localName);
      for (const attribute of Array.from(element.attributes)) attributes.push({ tag: element.localName, name: attribute.name, value: attribute.value });
    }
    return { tags, attributes };
  }

  it("hostile content comes out clean: no scripts, handlers, javascript: or relative URLs, frames, forms or styles; remote images not loaded", async () => {
    const artifact = await upload(hostile, "hostile.md", "text/markdown");
    expect(artifact.contentType).toBe("text/markdown");
    const shown = await preview(artifact.id);
    if (shown.kind !== "markdown") throw new Error(`expected a Markdown preview, got ${shown.kind}`);
    expect(shown).toMatchObject({ contentType: "text/markdown", truncated: false, remoteImages: 1 });
    const { tags, attributes } = walk(shown.html);

    const allowed = new Set(["h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre", "code", "em", "strong", "del", "s", "sub", "sup", "kbd", "mark", "a", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "img", "details", "summary"]);
    expect(tags.filter((tag) => !allowed.has(tag))).toEqual([]);
    for (const { tag, name, value } of attributes) {
      expect(name, `${tag} ${name}`).not.toMatch(/^on/i);
      expect(["href", "title", "target", "rel", "src", "alt", "data-remote-src", "start", "style", "class"], `${tag} ${name}`).toContain(name);
      if (name === "href") expect(value, `${tag} href`).toMatch(/^(https:\/\/example\.com|mailto:|#)/);
      if (name === "src") expect(value, `${tag} src`).toMatch(/^data:image\/png;base64,/);
      if (name === "data-remote-src") expect(value).toBe("https://tracker.example/pixel.gif");
      if (name === "style") expect(value).toMatch(/^text-align:(left|right|center);?$/);
      if (name === "target") expect(value).toBe("_blank");
    }
    // Nothing of the hostile parts survives even as an attribute value (a refused Markdown link stays its own text).
    expect(shown.html.replace("[click](javascript:alert(1))", "")).not.toMatch(/javascript:|<script|onerror|onclick|ontoggle|evil\.example|position:fixed|display: none/i);

    // What should be there is.
    expect(tags).toEqual(expect.arrayContaining(["h1", "strong", "a", "table", "th", "td", "img", "details", "summary", "pre", "code"]));
    expect(shown.html).toContain('<a href="https://example.com/page" target="_blank" rel="noopener noreferrer nofollow">good link</a>');
    expect(shown.html).toContain('<a href="#report">here</a>');
    expect(shown.html).toContain('<img alt="tracker" data-remote-src="https://tracker.example/pixel.gif" />');
    expect(shown.html).toContain("&lt;script&gt;not code&lt;/script&gt;");
  });

  it("a text/plain file named .md is rendered too; a large one only from its start, and says so", async () => {
    const artifact = await upload(`# Title\n\n${"word ".repeat(60_000)}`, "notes.md", "text/plain");
    expect(artifact.contentType).toBe("text/plain");
    const shown = await preview(artifact.id);
    expect(shown).toMatchObject({ kind: "markdown", truncated: true, remoteImages: 0 });
    expect(shown.kind === "markdown" && shown.html.startsWith("<h1>Title</h1>")).toBe(true);
  });
});

describe("PDF", () => {
  async function pdf(pages: number, title?: string): Promise<Buffer> {
    const document = await PDFDocument.create();
    if (title !== undefined) document.setTitle(title);
    for (let page = 0; page < pages; page++) document.addPage().drawText(`page ${page + 1}`, { x: 50, y: 700 });
    return Buffer.from(await document.save());
  }

  it("a real PDF gives its page count and title", async () => {
    const artifact = await upload(await pdf(3, "Quarterly <b>report</b>"), "report.pdf");
    expect(artifact.contentType).toBe("application/pdf");
    expect(await preview(artifact.id)).toEqual({ kind: "pdf", pages: 3, title: "Quarterly <b>report</b>", encrypted: false });
    const untitled = await upload(await pdf(1), "one.pdf");
    expect(await preview(untitled.id)).toEqual({ kind: "pdf", pages: 1, title: null, encrypted: false });
  });

  /** A PDF whose page tree lists itself as its own kid (a parser that follows it blindly never ends). */
  function cyclicPdf(): Buffer {
    const objects = ["1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj", "2 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj", "3 0 obj << /Type /Page /Parent 2 0 R >> endobj"];
    let body = "%PDF-1.4\n";
    const offsets: number[] = [];
    for (const object of objects) {
      offsets.push(body.length);
      body += `${object}\n`;
    }
    const xref = body.length;
    body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")}`;
    body += `trailer << /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF`;
    return Buffer.from(body, "latin1");
  }

  it("a broken, cut or cyclic PDF says it cannot be read, with a 200 and no 5xx", async () => {
    const whole = await pdf(2, "cut");
    for (const [name, bytes] of [["garbage.pdf", Buffer.from("%PDF-1.7\nthis is not a PDF at all\n%%EOF")], ["cut.pdf", whole.subarray(0, 300)], ["cyclic.pdf", cyclicPdf()]] as const) {
      const artifact = await upload(bytes, name);
      expect(artifact.contentType).toBe("application/pdf");
      const shown = await preview(artifact.id);
      expect(shown).toMatchObject({ kind: "unavailable", contentType: "application/pdf" });
      expect(shown.kind === "unavailable" && shown.reason).toMatch(/^this PDF could not be read/);
    }
  });
});

describe("other types", () => {
  it("a type without previews says so", async () => {
    const artifact = await upload(Buffer.concat([Buffer.from([0, 1, 2, 3]), randomBytes(64)]), "blob.bin");
    const shown = await preview(artifact.id);
    expect(shown).toMatchObject({ kind: "none", contentType: "application/octet-stream" });
    expect(shown.kind === "none" && shown.reason).toMatch(/no preview for application\/octet-stream/);
  });
});

describe("hostile bytes behind each format's signature", () => {
  const signatures = [
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    Buffer.from("GIF89a"),
    Buffer.concat([Buffer.from("RIFF"), Buffer.from([0x20, 0, 0, 0]), Buffer.from("WEBPVP8 ")]),
    Buffer.from("%PDF-1.4\n"),
  ];

  it("preview and thumbnail answer 200 or 422 with our error shape, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...signatures), fc.uint8Array({ minLength: 0, maxLength: 400 }), async (signature, tail) => {
        const response = await server.request("/api/artifacts?name=hostile", { method: "POST", token: alice, body: Buffer.concat([signature, tail]), headers: { "content-type": "application/octet-stream" } });
        const { artifact } = (await response.json()) as { artifact: Artifact };
        const shown = await server.request(`/api/artifacts/${artifact.id}/preview`, { token: alice });
        expect(shown.status, await shown.clone().text()).toBe(200);
        const thumb = await thumbnail(artifact.id);
        expect([200, 422], `${artifact.contentType}: ${thumb.status}`).toContain(thumb.status);
        if (thumb.status === 422) expect(((await thumb.json()) as ErrorBody).error.code).toBe("preview_unavailable");
        await server.request(`/api/artifacts/${artifact.id}`, { method: "DELETE", token: alice });
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it("hostile If-None-Match headers on the thumbnail get a 200 or 304, never a 5xx", async () => {
    const artifact = await upload(await picture(50, 50).png().toBuffer(), "etag.png");
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom("*", "W/\"x\"", "\"\"", ",,,", "W/"), fc.string({ maxLength: 80 }).filter((value) => /^[\x20-\x7e]*$/.test(value))), async (value) => {
        const answer = await thumbnail(artifact.id, { "if-none-match": value });
        expect([200, 304], `${JSON.stringify(value)} → ${answer.status}`).toContain(answer.status);
        await answer.arrayBuffer();
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
