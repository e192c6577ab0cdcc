// The artifact manager against a real node: artifacts listed with their sniffed type, size and tags and found by
// tag and type; a file uploaded from the form (an identical one said to be stored already); a share link made and
// read without a token; an artifact deleted after asking; and a session without artifacts:read that does not see it.
import { File as NodeFile } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

configure({ asyncUtilTimeout: 15_000 });

let node: TestServer;
// The smallest valid PNG: a 1x1 transparent pixel (its type is sniffed from these bytes).
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

async function upload(name: string, bytes: Uint8Array, tags: string): Promise<void> {
  const response = await node.request(`/api/artifacts?name=${encodeURIComponent(name)}&tags=${tags}`, { method: "POST", body: new Uint8Array(bytes), headers: { "content-type": "application/octet-stream" } });
  if (response.status !== 201 && response.status !== 200) throw new Error(`uploading ${name}: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  node = await startTestServer({ config: { rateLimit: { enabled: false } } });
  await upload("pixel.png", PNG, "images");
  await upload("notes.txt", new TextEncoder().encode("meeting notes\n"), "docs");
});
afterAll(async () => {
  await node?.dispose();
});

describe("the artifact manager", { timeout: 60_000 }, () => {
  it("lists artifacts with their sniffed type, size and tags, and finds them by tag and type", async () => {
    renderApp(node, { path: "/artifacts" });
    await screen.findByRole("heading", { level: 1, name: "Artifacts" });
    const table = await screen.findByRole("table", { name: "Artifacts" });
    const pixel = within(table).getByRole("row", { name: /pixel\.png/ });
    expect(pixel.textContent).toContain("image/png");
    expect(pixel.textContent).toContain(`${PNG.length} bytes`);
    expect(pixel.textContent).toContain("images");

    const user = userEvent.setup();
    const search = screen.getByRole("search", { name: "Search artifacts" });
    await user.type(within(search).getByLabelText("Type"), "image/*");
    await user.click(within(search).getByRole("button", { name: "Search" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Artifacts" })).queryByRole("row", { name: /notes\.txt/ })).toBeNull());
    expect(within(screen.getByRole("table", { name: "Artifacts" })).getByRole("row", { name: /pixel\.png/ })).toBeTruthy();
  });

  it("uploads a file from the form; the same bytes again are said to be stored already", async () => {
    renderApp(node, { path: "/artifacts" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Upload" }));
    const form = screen.getByRole("form", { name: "Upload a file" });
    await user.click(within(form).getByRole("button", { name: "Upload" }));
    expect(await within(form).findByText("choose a file")).toBeTruthy();

    // Node's File, as a browser's own File is to its fetch: jsdom's File is not one that Node's fetch can send.
    await user.upload(within(form).getByLabelText("File"), new NodeFile(["meeting notes\n"], "copy.txt", { type: "text/plain" }) as unknown as File);
    await user.type(within(form).getByLabelText("Tags"), "docs, copies");
    await user.click(within(form).getByRole("button", { name: "Upload" }));
    const status = await screen.findByText(/copy\.txt uploaded/);
    expect(status.textContent).toContain("stored already");
    const table = screen.getByRole("table", { name: "Artifacts" });
    await within(table).findByRole("row", { name: /copy\.txt/ });
  });

  it("makes a share link that is read without a token", async () => {
    renderApp(node, { path: "/artifacts" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Share notes.txt" }));
    const link = await screen.findByRole("status", { name: "Share link" });
    const url = within(link).getByText(/\/s\//).textContent ?? "";
    const path = url.slice(url.indexOf("/s/"));
    const response = await node.request(path, { token: null });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("meeting notes\n");
  });

  it("deletes an artifact after asking", async () => {
    renderApp(node, { path: "/artifacts" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Delete pixel.png" }));
    const dialog = screen.getByRole("dialog", { name: "Delete pixel.png?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete artifact" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Artifacts" })).queryByRole("row", { name: /pixel\.png/ })).toBeNull());
  });

  it("is not shown to a session without artifacts:read", async () => {
    const token = await mintToken(node, ["services:read"]);
    renderApp(node, { token, path: "/artifacts" });
    await screen.findByRole("heading", { name: "Not available" });
    expect(screen.queryByTestId("nav-artifacts")).toBeNull();
  });
});
