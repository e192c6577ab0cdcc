// Artifact previews in the artifact manager against a real node: an image's thumbnail in the list and in its preview
// (with its size), hostile Markdown shown in a frame that may run nothing and fetch nothing (remote images only when
// asked), a text excerpt shown as text, and a type without previews saying so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";
import { frameDocument } from "./MarkdownFrame";

configure({ asyncUtilTimeout: 15_000 });

let node: TestServer;
// A whole 1×1 PNG (its type is sniffed from these bytes); its thumbnail is a 1×1 WebP.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
const HOSTILE_MD = [
  "# Hello",
  "",
  "<script>parent.document.title = 'owned'</script>",
  "<img src=x onerror=\"parent.document.title = 'owned'\">",
  "[click](javascript:alert(1)) <a href=\"javascript:alert(1)\">raw</a>",
  "![tracker](https://tracker.example/pixel.gif)",
  // Blank lines apart: a line of raw HTML would otherwise take the lines after it into its HTML block.
].join("\n\n");

async function upload(name: string, bytes: Uint8Array | string, contentType = "application/octet-stream"): Promise<void> {
  const response = await node.request(`/api/artifacts?name=${encodeURIComponent(name)}`, { method: "POST", body: bytes as BodyInit, headers: { "content-type": contentType } });
  if (response.status !== 201 && response.status !== 200) throw new Error(`uploading ${name}: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  node = await startTestServer({ config: { rateLimit: { enabled: false } } });
  await upload("pixel.png", PNG);
  await upload("readme.md", HOSTILE_MD, "text/markdown");
  await upload("notes.txt", "meeting notes\n", "text/plain");
  await upload("data.bin", new Uint8Array([0, 1, 2, 3, 4, 5]));
});
afterAll(async () => {
  await node?.dispose();
});

describe("artifact previews", { timeout: 60_000 }, () => {
  it("shows an image's thumbnail in the list and, in its preview, with its size", async () => {
    renderApp(node, { path: "/artifacts" });
    const table = await screen.findByRole("table", { name: "Artifacts" });
    const thumbnail = (await within(table).findByRole("img", { name: "Thumbnail of pixel.png" })) as HTMLImageElement;
    expect(thumbnail.src).toMatch(/^data:image\/webp;base64,/);

    const user = userEvent.setup();
    await user.click(within(table).getByRole("button", { name: "Preview pixel.png" }));
    const preview = await screen.findByRole("region", { name: "Preview of pixel.png" });
    expect(await within(preview).findByText(/image\/png, 1 × 1 pixels/)).toBeTruthy();
    expect(within(preview).getByRole("img", { name: "Thumbnail of pixel.png" })).toBeTruthy();
  });

  it("shows hostile Markdown in a frame that can run nothing and loads remote images only when asked", async () => {
    renderApp(node, { path: "/artifacts" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Preview readme.md" }));
    const preview = await screen.findByRole("region", { name: "Preview of readme.md" });
    const frame = (await within(preview).findByTitle("Rendered readme.md")) as HTMLIFrameElement;
    const sandbox = frame.getAttribute("sandbox") ?? "";
    expect(sandbox).not.toContain("allow-scripts");
    expect(sandbox).not.toContain("allow-same-origin");
    const document = frame.getAttribute("srcdoc") ?? "";
    expect(document).toContain("<h1>Hello</h1>");
    expect(document).toContain("default-src 'none'; img-src data:;");
    expect(document).not.toMatch(/<script|onerror|javascript:alert\(1\)"/i);
    expect(document).toContain('data-remote-src="https://tracker.example/pixel.gif"');
    expect(document).not.toMatch(/\ssrc="https:\/\/tracker\.example/);

    await user.click(within(preview).getByRole("button", { name: "Load remote images" }));
    const loaded = within(preview).getByTitle("Rendered readme.md").getAttribute("srcdoc") ?? "";
    expect(loaded).toMatch(/\ssrc="https:\/\/tracker\.example\/pixel\.gif"/);
    expect(loaded).toContain("img-src data: https: http:");
  });

  it("a remote image address that is not http(s) never becomes a source, even if the node had let it through", () => {
    const frame = frameDocument('<img data-remote-src="javascript:alert(1)"><img data-remote-src="https://ok.example/a.png">', true);
    expect(frame).not.toContain("javascript:");
    expect(frame).toMatch(/\ssrc="https:\/\/ok\.example\/a\.png"/);
  });

  it("shows a text excerpt as text, and says when a type has no preview", async () => {
    renderApp(node, { path: "/artifacts" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Preview notes.txt" }));
    const text = await screen.findByRole("region", { name: "Preview of notes.txt" });
    expect(await within(text).findByText("meeting notes")).toBeTruthy();
    await user.click(within(text).getByRole("button", { name: "Close preview" }));
    await user.click(screen.getByRole("button", { name: "Preview data.bin" }));
    const none = await screen.findByRole("region", { name: "Preview of data.bin" });
    expect(await within(none).findByText(/no preview for application\/octet-stream/)).toBeTruthy();
  });
});
