// The prompt manager against a real node: prompts listed and found by search and tag, a new prompt saved from the
// form (checked first), a version rendered with its variables (a missing one refused by the node), a new version
// saved and compared with the one before, an old version restored, a label moved, a prompt deleted after asking,
// and a session without prompts:read that does not see the page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { SavePromptRequestInput } from "@kai/protocol";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

configure({ asyncUtilTimeout: 15_000 });

let node: TestServer;

async function save(name: string, body: SavePromptRequestInput): Promise<void> {
  const response = await node.request(`/api/prompts/${name}`, { method: "PUT", json: body });
  if (response.status !== 201 && response.status !== 200) throw new Error(`saving ${name}: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  node = await startTestServer({ config: { rateLimit: { enabled: false } } });
  await save("support-reply", {
    template: "Dear {{customer}}, thank you for writing.",
    variables: [{ name: "customer", type: "string", required: true }],
    tags: ["support"],
    description: "First answer to a ticket",
    message: "first draft",
  });
  await save("support-reply", {
    template: "Dear {{customer}}, thank you for writing. We answer within {{hours}} hours.",
    variables: [
      { name: "customer", type: "string", required: true },
      { name: "hours", type: "number", required: false, default: 24 },
    ],
    message: "promise a time",
  });
  await save("release-notes", { template: [{ role: "system", content: "Write release notes." }], tags: ["docs"] });
});
afterAll(async () => {
  await node?.dispose();
});

describe("the prompt manager", { timeout: 60_000 }, () => {
  it("lists prompts with their versions and labels, and finds them by search and tag", async () => {
    renderApp(node, { path: "/prompts" });
    await screen.findByRole("heading", { level: 1, name: "Prompts" });
    const table = await screen.findByRole("table", { name: "Prompts" });
    const row = within(table).getByRole("row", { name: /support-reply/ });
    expect(row.textContent).toContain("First answer to a ticket");
    expect(row.textContent).toContain("latest: v2");
    expect(within(table).getByRole("row", { name: /release-notes/ })).toBeTruthy();

    const user = userEvent.setup();
    const search = screen.getByRole("search", { name: "Search prompts" });
    await user.type(within(search).getByLabelText("Tag"), "docs");
    await user.click(within(search).getByRole("button", { name: "Search" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Prompts" })).queryByRole("row", { name: /support-reply/ })).toBeNull());
    expect(within(screen.getByRole("table", { name: "Prompts" })).getByRole("row", { name: /release-notes/ })).toBeTruthy();
  });

  it("saves a new prompt from the form, checked first, and opens its page", async () => {
    renderApp(node, { path: "/prompts" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "New prompt" }));
    const form = screen.getByRole("form", { name: "New prompt" });
    await user.type(within(form).getByLabelText("Name"), "bad name!");
    await user.click(within(form).getByRole("button", { name: "Save prompt" }));
    expect(await within(form).findByText(/a name is letters, digits/)).toBeTruthy();

    await user.clear(within(form).getByLabelText("Name"));
    await user.type(within(form).getByLabelText("Name"), "greeting");
    await user.click(within(form).getByLabelText("Template"));
    await user.paste("Hello {{who}}!");
    await user.clear(within(form).getByLabelText("Variables (JSON)"));
    await user.click(within(form).getByLabelText("Variables (JSON)"));
    await user.paste('[{"name": "who"}]');
    await user.click(within(form).getByRole("button", { name: "Save prompt" }));
    await screen.findByRole("heading", { level: 1, name: "Prompt: greeting" });
    expect(await screen.findByText("Hello {{who}}!")).toBeTruthy();
  });

  it("renders a version with its variables; a missing required one is refused by the node", async () => {
    renderApp(node, { path: "/prompts/support-reply" });
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Render the prompt" });
    await user.click(within(form).getByRole("button", { name: "Render" }));
    expect(await screen.findByText("The prompt was not rendered")).toBeTruthy();
    await user.type(within(form).getByLabelText("customer"), "Ada");
    await user.click(within(form).getByRole("button", { name: "Render" }));
    const rendered = await screen.findByRole("region", { name: "Rendered prompt" });
    expect(rendered.textContent).toBe("Dear Ada, thank you for writing. We answer within 24 hours.");
  });

  it("compares two versions, restores an old one and moves a label", async () => {
    renderApp(node, { path: "/prompts/support-reply" });
    const user = userEvent.setup();
    const diff = await screen.findByRole("list", { name: "Template from v1 to v2" });
    expect(diff.textContent).toContain("removed: ");
    expect(diff.textContent).toContain("We answer within {{hours}} hours.");
    expect(screen.getByText(/added hours/)).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Restore v1" }));
    await screen.findByRole("heading", { name: "Version 3 of 3" });
    expect(screen.getByText(/a copy of v1/)).toBeTruthy();

    const labels = screen.getByRole("form", { name: "Move a label" });
    await user.selectOptions(within(labels).getByLabelText("To version"), "2");
    await user.click(within(labels).getByRole("button", { name: "Move label" }));
    await waitFor(async () => {
      const response = await node.request("/api/prompts/support-reply?label=production");
      expect(((await response.json()) as { version: { version: number } }).version.version).toBe(2);
    });
  });

  it("deletes a prompt after asking", async () => {
    renderApp(node, { path: "/prompts/release-notes" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Delete prompt" }));
    const dialog = screen.getByRole("dialog", { name: "Delete release-notes?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete prompt" }));
    await screen.findByRole("table", { name: "Prompts" });
    expect((await node.request("/api/prompts/release-notes")).status).toBe(404);
  });

  it("is not shown to a session without prompts:read", async () => {
    const token = await mintToken(node, ["services:read"]);
    renderApp(node, { token, path: "/prompts" });
    await screen.findByRole("heading", { name: "Not available" });
    expect(screen.queryByTestId("nav-prompts")).toBeNull();
  });
});
