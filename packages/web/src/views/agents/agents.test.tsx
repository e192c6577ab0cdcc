// The agent center against a real node and small real HTTP agents (node:http servers in this file, registered by
// manifests signed with their own keys): agents listed with status and load, a task created from the form and run,
// a plan's graph whose steps turn completed live from the task's event stream, an input-required question answered,
// cancel, and a session without agents:read that does not see the page.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { klp, parseJson, signAgentManifest, type CreateTaskRequestInput } from "@kai/protocol";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

// Tasks run on real agents over HTTP on a shared machine: wait up to 15 s for what a person would see.
configure({ asyncUtilTimeout: 15_000 });

interface Step {
  stepId: string;
  capability: string;
  input: Record<string, unknown>;
  answer?: unknown;
}
type Reply = { output: unknown } | { inputRequired: { prompt: string } } | "hang";

/** A small HTTP agent: answers each step with `reply(step)`; "hang" keeps the request open until the node closes it. */
async function startAgent(id: string, capabilities: string[], reply: (step: Step) => Reply | Promise<Reply>): Promise<{ server: Server; aborted: string[] }> {
  const aborted: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const parsed = parseJson(Buffer.concat(chunks).toString("utf8"));
      if (!parsed.ok) return void res.writeHead(400).end();
      const step = parsed.value as Step;
      res.on("close", () => {
        if (!res.writableFinished) aborted.push(step.stepId);
      });
      const answer = await reply(step);
      if (answer === "hang" || res.destroyed) return;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/step`;
  const manifest = signAgentManifest(
    {
      id,
      name: id,
      skills: capabilities.map((capability, index) => ({ id: `s${index}`, name: capability, capability })),
      endpoint: { transport: "http", url },
      limits: { maxConcurrentTasks: 4, stepTimeoutMs: 30_000 },
    },
    klp.generateKeyPair(),
  );
  const response = await node.request("/api/agents", { method: "POST", json: manifest });
  if (response.status !== 201) throw new Error(`registering ${id}: ${response.status} ${await response.text()}`);
  servers.push(server);
  return { server, aborted };
}

let node: TestServer;
const servers: Server[] = [];
let releaseGate: () => void = () => undefined;
let gateAgent: { aborted: string[] };

async function createTask(body: CreateTaskRequestInput): Promise<string> {
  const response = await node.request("/api/agent/task", { method: "POST", json: body });
  if (response.status !== 202) throw new Error(`creating a task: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { task: { id: string } }).task.id;
}

beforeAll(async () => {
  node = await startTestServer({ config: { rateLimit: { enabled: false } } });
  await startAgent("kExecutor:fetcher", ["web_fetch"], (step) => ({ output: { text: `page at ${String(step.input.url)}` } }));
  const gate = new Promise<void>((resolve) => (releaseGate = resolve));
  gateAgent = await startAgent("kWriter:gate", ["gated_write", "slow_work", "ask_city"], async (step) => {
    if (step.capability === "slow_work") return "hang";
    if (step.capability === "ask_city") return step.answer === undefined ? { inputRequired: { prompt: "Which city?" } } : { output: { city: step.answer } };
    await gate;
    return { output: { written: step.input.page } };
  });
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await node?.dispose();
});

describe("the agent center", { timeout: 60_000 }, () => {
  it("lists the agents with their status, transport, capabilities and load", async () => {
    renderApp(node, { path: "/agents" });
    await screen.findByRole("heading", { level: 1, name: "Agents" });
    const table = await screen.findByRole("table", { name: "Agents" });
    const row = within(table).getByRole("row", { name: /kExecutor:fetcher/ });
    const cells = within(row).getAllByRole("cell").map((cell) => cell.textContent);
    expect(cells[0]).toBe("active");
    expect(cells[1]).toBe("http");
    expect(cells[2]).toBe("web_fetch");
    expect(cells[3]).toBe("0 / 4");
    expect(within(table).getByRole("row", { name: /kWriter:gate/ }).textContent).toContain("gated_write, slow_work, ask_city");
  });

  it("creates a task from the form (checked first), opens its page and shows the result", async () => {
    renderApp(node, { path: "/agents" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "New task" }));
    const form = screen.getByRole("form", { name: "New task" });
    await user.clear(within(form).getByLabelText("Input (JSON)"));
    await user.paste("not json");
    await user.click(within(form).getByRole("button", { name: "Create task" }));
    expect(await within(form).findByText("say what the task should achieve")).toBeTruthy();
    expect(within(form).getByText(/enter a JSON object/)).toBeTruthy();

    await user.click(within(form).getByLabelText("Goal"));
    await user.paste("fetch the example page");
    await user.click(within(form).getByLabelText("Capability"));
    await user.paste("web_fetch");
    await user.clear(within(form).getByLabelText("Input (JSON)"));
    await user.paste('{"url": "https://example.org/"}');
    await user.click(within(form).getByRole("button", { name: "Create task" }));

    await screen.findByRole("heading", { level: 1, name: "Task: fetch the example page" });
    await waitFor(() => expect(screen.getByLabelText("Result").textContent).toContain("page at https://example.org/"));
    expect(within(screen.getByRole("table", { name: "Steps" })).getByText("kExecutor:fetcher")).toBeTruthy();

    // Back on the list, the task is there with its state in words.
    await user.click(screen.getByRole("link", { name: "All agents and tasks" }));
    const tasks = await screen.findByRole("table", { name: "Tasks" });
    const row = await within(tasks).findByRole("row", { name: /fetch the example page/ });
    await waitFor(() => expect(row.textContent).toContain("completed"));
  });

  it("draws the plan as a graph whose steps turn completed live, and shows a step's details", async () => {
    const id = await createTask({
      goal: "fetch then write",
      plan: {
        goal: "fetch then write",
        steps: [
          { id: "fetch", capability: "web_fetch", input: { url: "https://example.org/a" } },
          { id: "write", capability: "gated_write", dependsOn: ["fetch"], inputsFrom: { page: { step: "fetch", path: "text" } } },
        ],
      },
    });
    renderApp(node, { path: `/agents/tasks/${id}` });
    const user = userEvent.setup();
    const graph = await screen.findByRole("group", { name: "Plan graph" });
    // The writer waits at the gate: its step runs while the page watches.
    await within(graph).findByRole("button", { name: /^Step write, gated_write, running/ });
    expect(within(graph).getByRole("button", { name: /^Step fetch, web_fetch, completed, by kExecutor:fetcher/ })).toBeTruthy();
    releaseGate();
    await within(graph).findByRole("button", { name: /^Step write, gated_write, completed, by kWriter:gate/ });
    await waitFor(() => expect(screen.getByLabelText("Result").textContent).toContain("page at https://example.org/a"));
    expect(screen.getByRole("list", { name: "Events of this task" }).textContent).toContain("AGENT_RESULT");

    // A step's box is a button reached by the keyboard: Enter shows its details.
    within(graph).getByRole("button", { name: /^Step fetch/ }).focus();
    await user.keyboard("{Enter}");
    const details = await screen.findByRole("region", { name: "Step fetch" });
    expect(within(details).getByLabelText("Output of step fetch").textContent).toContain("page at https://example.org/a");
  });

  it("asks the person when a step needs input, and resumes with the answer", async () => {
    const id = await createTask({ goal: "ask for a city", capability: "ask_city" });
    renderApp(node, { path: `/agents/tasks/${id}` });
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Answer the task" });
    expect(form.textContent).toContain("Which city?");
    await user.type(within(form).getByLabelText("Answer"), "Lyon");
    await user.click(within(form).getByRole("button", { name: "Send answer" }));
    await waitFor(() => expect(screen.getByLabelText("Result").textContent).toContain("Lyon"));
  });

  it("cancels a running task after asking, and the agent's request is closed", async () => {
    const id = await createTask({ goal: "never ends", capability: "slow_work" });
    renderApp(node, { path: `/agents/tasks/${id}` });
    const user = userEvent.setup();
    const graph = await screen.findByRole("group", { name: "Plan graph" });
    await within(graph).findByRole("button", { name: /, running/ });
    await user.click(screen.getByRole("button", { name: "Cancel task" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this task?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel task" }));
    await waitFor(() => expect(screen.getAllByText("canceled").length).toBeGreaterThan(0));
    await within(graph).findByRole("button", { name: /, canceled/ });
    await waitFor(() => expect(gateAgent.aborted).toHaveLength(1));
    expect(screen.queryByRole("button", { name: "Cancel task" })).toBeNull();
  });

  it("is not shown to a session without agents:read", async () => {
    const token = await mintToken(node, ["services:read"]);
    renderApp(node, { token, path: "/agents" });
    await screen.findByRole("heading", { name: "Not available" });
    expect(screen.queryByTestId("nav-agents")).toBeNull();
  });
});
