/**
 * `kai artifact preview` and `kai artifact thumbnail` end to end: the built CLI against a real node. An image's size,
 * its WebP thumbnail written to a file (never over an existing one by default), Markdown as sanitised HTML, and a
 * thumbnail of text refused with the validation exit code.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type KaiClient } from "@kai/sdk";
import { EXIT } from "../src/exit-codes.js";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let alice: string;
let client: KaiClient;
/** A whole 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: alice } });

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  const admin = createClient({ url: server.url, token: server.adminToken });
  alice = (await admin.tokens.create({ scopes: ["artifacts:read", "artifacts:write"], owner: "alice", ttl: "1h" })).token;
  client = createClient({ url: server.url, token: alice });
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai artifact preview / thumbnail", () => {
  it("prints an image's size and writes its thumbnail; Markdown prints as sanitised HTML; text has no thumbnail", { timeout: 240_000 }, async () => {
    const image = (await client.artifacts.upload(new Uint8Array(PNG), { name: "pixel.png" })).artifact;
    const shown = await kai(["artifact", "preview", image.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("image/png, 1 × 1 pixels");

    const out = join(box.dir, "thumb.webp");
    const written = await kai(["artifact", "thumbnail", image.id, "--out", out]);
    expect(written.code, written.stderr).toBe(0);
    const bytes = readFileSync(out);
    expect([bytes.subarray(0, 4).toString("latin1"), bytes.subarray(8, 12).toString("latin1")]).toEqual(["RIFF", "WEBP"]);
    // The default file name, not overwritten the second time.
    expect((await kai(["artifact", "thumbnail", image.id])).code).toBe(0);
    expect(existsSync(join(box.dir, `${image.id}.webp`))).toBe(true);
    expect((await kai(["artifact", "thumbnail", image.id])).code).not.toBe(0);

    const markdown = (await client.artifacts.upload(new TextEncoder().encode("# Title\n\n<img src=x onerror=alert(1)>\u001b[31m"), { name: "a.md", contentType: "text/markdown" })).artifact;
    const rendered = await kai(["artifact", "preview", markdown.id]);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout).toContain("<h1>Title</h1>");
    expect(rendered.stdout).not.toContain("onerror");
    // The escape character in the file never reaches the terminal as one.
    expect(rendered.stdout.includes(String.fromCharCode(0x1b))).toBe(false);
    const json = await kai(["artifact", "preview", markdown.id, "--json"]);
    expect((JSON.parse(json.stdout) as { preview: { kind: string } }).preview.kind).toBe("markdown");

    const text = (await client.artifacts.upload(new TextEncoder().encode("plain"), { name: "p.txt", contentType: "text/plain" })).artifact;
    const refused = await kai(["artifact", "thumbnail", text.id, "--out", join(box.dir, "none.webp")]);
    expect(refused.code).toBe(EXIT.validation);
    expect(refused.stderr).toContain("no thumbnail for text/plain");
  });
});
