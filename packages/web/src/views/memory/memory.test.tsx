// Semantic memory in the app against a real node whose gateway embeds through a registered OpenAI-compatible
// service (the server tests' deterministic embedding fake: texts sharing words are near each other): a memory added
// from the form (checked first; the same text again said to be stored already), found by meaning with scores, a
// metadata filter applied inside the search, a memory deleted after asking and not found again, and a session
// without memory:read that does not see the page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

configure({ asyncUtilTimeout: 15_000 });

/** What the test uses of the fake (packages/server/test/memory/embedding-fake.ts), loaded by path as the harness loads the server's helpers. */
interface EmbeddingFake {
  url: string;
  close(): Promise<void>;
}
const FAKE = new URL("../../../../server/test/memory/embedding-fake.ts", import.meta.url).pathname;

let node: TestServer;
let fake: EmbeddingFake;

async function remember(text: string, metadata: Record<string, string>): Promise<void> {
  const response = await node.request("/api/memory", { method: "POST", json: { text, metadata } });
  if (response.status !== 201) throw new Error(`adding a memory: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  const module = (await import(/* @vite-ignore */ FAKE)) as { startEmbeddingFake(): Promise<EmbeddingFake>; EMBED_MODEL: string };
  fake = await module.startEmbeddingFake();
  node = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const registered = await node.request("/api/services/register", {
    method: "POST",
    json: { id: "embedder", name: "Embedder", type: "service", provider: "openai-compatible", capabilities: ["embeddings"], url: fake.url, visibility: "public", metadata: { models: [module.EMBED_MODEL] } },
  });
  if (registered.status !== 201) throw new Error(`registering the embedder: ${registered.status} ${await registered.text()}`);
  await remember("the invoice for march was paid late", { topic: "billing" });
  await remember("the invoice reminder goes out monthly", { topic: "reminders" });
  await remember("the office plants need water on fridays", { topic: "office" });
});
afterAll(async () => {
  await node?.dispose();
  await fake?.close();
});

describe("memory", { timeout: 60_000 }, () => {
  it("finds memories by meaning with their scores, and a filter applies inside the search", async () => {
    renderApp(node, { path: "/memory" });
    const user = userEvent.setup();
    const search = await screen.findByRole("search", { name: "Search memory" });
    await user.type(within(search).getByLabelText("Looking for"), "invoice paid");
    await user.click(within(search).getByRole("button", { name: "Search" }));
    const table = await screen.findByRole("table", { name: "Memories found" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows[0]!.textContent).toContain("the invoice for march was paid late");
    expect(rows[0]!.textContent).toContain("topic=billing");

    await user.type(within(search).getByLabelText("Filters"), "topic=reminders");
    await user.click(within(search).getByRole("button", { name: "Search" }));
    await waitFor(() => {
      const filtered = within(screen.getByRole("table", { name: "Memories found" })).getAllByRole("row").slice(1);
      expect(filtered.map((row) => row.textContent)).toEqual([expect.stringContaining("the invoice reminder goes out monthly")]);
    });
  });

  it("adds a memory from the form; the same text again is said to be stored already", async () => {
    renderApp(node, { path: "/memory" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Add a memory" }));
    const form = screen.getByRole("form", { name: "Add a memory" });
    await user.click(within(form).getByRole("button", { name: "Remember" }));
    expect(await within(form).findByText("write what should be remembered")).toBeTruthy();
    await user.type(within(form).getByLabelText("Text"), "the printer on floor two jams");
    await user.click(within(form).getByLabelText("Metadata (JSON)"));
    await user.clear(within(form).getByLabelText("Metadata (JSON)"));
    await user.paste('{"topic": "office"}');
    await user.click(within(form).getByRole("button", { name: "Remember" }));
    expect((await screen.findByRole("status")).textContent).toBe("Remembered in default.");

    await user.click(screen.getByRole("button", { name: "Add a memory" }));
    const again = screen.getByRole("form", { name: "Add a memory" });
    await user.type(within(again).getByLabelText("Text"), "the printer on floor two jams");
    await user.click(within(again).getByRole("button", { name: "Remember" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("already holds this text"));
  });

  it("deletes a memory after asking; it is not found again", async () => {
    renderApp(node, { path: "/memory" });
    const user = userEvent.setup();
    const search = await screen.findByRole("search", { name: "Search memory" });
    await user.type(within(search).getByLabelText("Looking for"), "plants water");
    await user.click(within(search).getByRole("button", { name: "Search" }));
    const table = await screen.findByRole("table", { name: "Memories found" });
    const row = within(table).getAllByRole("row").slice(1)[0]!;
    expect(row.textContent).toContain("the office plants need water on fridays");
    await user.click(within(row).getByRole("button", { name: /^Delete mem_/ }));
    await user.click(within(screen.getByRole("dialog", { name: "Delete this memory?" })).getByRole("button", { name: "Delete memory" }));
    await waitFor(() => expect(screen.queryByText("the office plants need water on fridays")).toBeNull());
  });

  it("is not shown to a session without memory:read", async () => {
    const token = await mintToken(node, ["services:read"]);
    renderApp(node, { token, path: "/memory" });
    await screen.findByRole("heading", { name: "Not available" });
    expect(screen.queryByTestId("nav-memory")).toBeNull();
  });
});
