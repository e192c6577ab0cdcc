// The header's notifications against a real node and a small real HTTP agent (a node:http server in this file,
// registered by a manifest signed with its own key): a task the signed-in person started asks a question, then
// completes; each is announced politely, counted as unread in words, listed with a link to the task, marked read
// when the list is opened; Escape closes it back to the button; another person's task never shows up; a session
// without agents:read has no bell.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { klp, parseJson, signAgentManifest } from "@kai/protocol";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

// A task runs on a real agent over HTTP on a shared machine: wait up to 15 s for what a person would see.
configure({ asyncUtilTimeout: 15_000 });

let node: TestServer;
let agent: Server;
let alice: string;

/** An agent that asks a question first, and answers once it has the answer. */
async function startAgent(): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const parsed = parseJson(Buffer.concat(chunks).toString("utf8"));
      if (!parsed.ok) return void res.writeHead(400).end();
      const step = parsed.value as { answer?: unknown };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(step.answer === undefined ? { inputRequired: { prompt: "Which colour?" } } : { output: { colour: step.answer } }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/step`;
  const manifest = signAgentManifest(
    { id: "kExecutor:colours", name: "colours", skills: [{ id: "s0", name: "pick", capability: "pick_colour" }], endpoint: { transport: "http", url }, visibility: "public" },
    klp.generateKeyPair(),
  );
  const response = await node.request("/api/agents", { method: "POST", json: manifest });
  if (response.status !== 201) throw new Error(`registering the agent: ${response.status} ${await response.text()}`);
  return server;
}

async function startTask(token: string): Promise<string> {
  const response = await node.request("/api/agent/task", {
    method: "POST",
    token,
    json: { goal: "pick a colour", plan: { goal: "pick a colour", steps: [{ id: "pick", capability: "pick_colour", input: {} }] } },
  });
  if (response.status !== 202) throw new Error(`creating a task: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { task: { id: string } }).task.id;
}

beforeAll(async () => {
  node = await startTestServer({ config: { rateLimit: { enabled: false } } });
  agent = await startAgent();
  alice = await mintToken(node, ["agents:read", "tasks:run"], "alice");
});
afterAll(async () => {
  agent?.closeAllConnections();
  await new Promise((resolve) => agent?.close(resolve));
  await node?.dispose();
});

describe("notifications in the header", () => {
  it("announces a task's question and its completion, lists them with a link to the task, and marks them read when opened", async () => {
    renderApp(node, { token: alice, path: "/" });
    const user = userEvent.setup();
    const bell = await screen.findByRole("button", { name: "Notifications" });
    // Give the event stream a moment to attach: a notification is live only (the node does not store it).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const bobs = await mintToken(node, ["agents:read", "tasks:run"], "bob");
    await startTask(bobs);
    const id = await startTask(alice);

    await waitFor(() => expect(screen.getByTestId("notifications-live").textContent).toContain("A task needs your answer"));
    expect(screen.getByTestId("notifications-live").getAttribute("aria-live")).toBe("polite");
    await waitFor(() => expect(bell.getAttribute("aria-label")).toBe("Notifications, 1 unread"));

    const answered = await node.request(`/api/agent/task/${id}/answer`, { method: "POST", token: alice, json: { answer: "blue" } });
    expect(answered.status).toBeLessThan(300);
    await waitFor(() => expect(screen.getByTestId("notifications-live").textContent).toContain("Task completed"));
    await waitFor(() => expect(bell.getAttribute("aria-label")).toBe("Notifications, 2 unread"));

    await user.click(bell);
    expect(bell.getAttribute("aria-expanded")).toBe("true");
    const panel = screen.getByRole("region", { name: "Notifications" });
    const items = within(panel).getAllByRole("listitem");
    // Only alice's own task (bob's asked a question too): newest first.
    expect(items).toHaveLength(2);
    expect(items[0]!.textContent).toContain("Task completed");
    expect(items[0]!.textContent).toContain("New");
    expect(items[1]!.textContent).toContain("A task needs your answer");
    await waitFor(() => expect(bell.getAttribute("aria-label")).toBe("Notifications"));

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("region", { name: "Notifications" })).toBeNull();
    expect(document.activeElement).toBe(bell);

    await user.click(bell);
    const reopened = screen.getByRole("region", { name: "Notifications" });
    expect(within(reopened).queryByText("New")).toBeNull();
    // The link leads to the task's page, and the list closes.
    await user.click(within(reopened).getByRole("link", { name: "Open: Task completed" }));
    await screen.findByRole("heading", { level: 1, name: "Task: pick a colour" });
    expect(screen.queryByRole("region", { name: "Notifications" })).toBeNull();
  }, 60_000);

  it("is not shown to a session without agents:read", async () => {
    const token = await mintToken(node, ["services:read"], "carol");
    renderApp(node, { token, path: "/services" });
    await screen.findByRole("navigation", { name: "Main" });
    expect(screen.queryByRole("button", { name: /^Notifications/ })).toBeNull();
  });
});
