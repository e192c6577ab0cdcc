// The Console on a real node with tracing on and a trace viewer named (`tracing.traceUrl`): lines carry their trace
// (a button that filters to it, a link to the viewer), the Trace id field filters, and an error the node answered
// names its trace beside the request id; "Search files" finds a trace's lines in the node's log files; a task's page
// shows its trace and links to its lines; a link to the Console names its filter. One node per file:
// a second in the same file made each dispose slow.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { KaiApiError, createClient } from "@kai/sdk";
import { ErrorNotice } from "../../components/ErrorNotice";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

const VIEWER = "https://jaeger.example/trace/{traceId}";
const TRACE = "9bf92f3577b34da6a3ce929d0e0e473a";
const OTHER = "1af7651916cd43dd8448eb211c80319e";

/** The OpenAI fake (packages/server/test/gateway/fakes/openai-fake.ts), for a traced gateway call from the playground. */
const FAKE = new URL("../../../../server/test/gateway/fakes/openai-fake.ts", import.meta.url).pathname;
const startOpenAIFake = async (): Promise<{ url: string; close(): Promise<void> }> =>
  ((await import(/* @vite-ignore */ FAKE)) as { startOpenAIFake(): Promise<{ url: string; close(): Promise<void> }> }).startOpenAIFake();

let server: TestServer;
let fake: { url: string; close(): Promise<void> };
beforeAll(async () => {
  fake = await startOpenAIFake();
  server = await startTestServer({ config: { tracing: { enabled: true, traceUrl: VIEWER } } });
});
afterAll(async () => {
  await server.dispose();
  await fake.close();
});

async function open() {
  renderApp(server, { path: "/console" });
  await screen.findByRole("heading", { name: "Console" }, { timeout: 15_000 });
  await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Live"), { timeout: 10_000 });
  return userEvent.setup();
}

const table = () => screen.getByRole("table");
const rowsWith = (text: string) => within(table()).queryAllByRole("row").filter((row) => row.textContent?.includes(text));
const traced = (traceId: string, requestId: string) => server.request("/api/status", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": requestId } });

describe("the console's traces", () => {
  it("shows each line's trace with a link to the viewer, and filters to a trace clicked", async () => {
    const user = await open();
    expect((await traced(TRACE, "console-trace-1")).status).toBe(200);
    expect((await traced(OTHER, "console-trace-other")).status).toBe(200);
    await waitFor(() => expect(rowsWith("console-trace-other").length).toBeGreaterThan(0));
    const row = rowsWith("console-trace-1")[0]!;
    expect(within(table()).getByRole("columnheader", { name: "Trace" })).toBeTruthy();
    const link = within(row).getByRole("link", { name: `Open trace ${TRACE} in the trace viewer` });
    expect(link.getAttribute("href")).toBe(`https://jaeger.example/trace/${TRACE}`);
    expect(link.getAttribute("target")).toBe("_blank");
    expect(link.getAttribute("rel")).toContain("noopener");
    // The id is shown in its column, not again among the fields.
    expect(row.textContent).not.toContain(`trace_id=${TRACE}`);

    await user.click(within(row).getByRole("button", { name: `Show only trace ${TRACE}` }));
    expect((screen.getByLabelText("Trace id") as HTMLInputElement).value).toBe(TRACE);
    // The stream starts again with the new filter (the table says "No lines match yet." in between): then the trace's
    // lines only, each with its trace.
    await waitFor(() => {
      expect(rowsWith("console-trace-other")).toEqual([]);
      expect(rowsWith("console-trace-1").length).toBeGreaterThan(0);
    });
    const rows = within(table()).queryAllByRole("row").slice(1);
    expect(rows.every((each) => within(each).queryByRole("button", { name: `Show only trace ${TRACE}` }) !== null)).toBe(true);
  });

  it("filters by a trace id typed (capitals taken as the same id), and says what is not one", async () => {
    const user = await open();
    await user.type(screen.getByLabelText("Trace id"), OTHER.toUpperCase());
    await user.click(screen.getByRole("button", { name: "Apply" }));
    expect((await traced(OTHER, "console-trace-typed")).status).toBe(200);
    expect((await traced(TRACE, "console-trace-not")).status).toBe(200);
    await waitFor(() => expect(rowsWith("console-trace-typed").length).toBeGreaterThan(0));
    expect(rowsWith("console-trace-not")).toEqual([]);

    await user.clear(screen.getByLabelText("Trace id"));
    await user.type(screen.getByLabelText("Trace id"), "not-a-trace");
    await user.click(screen.getByRole("button", { name: "Apply" }));
    expect(await screen.findByText(/32 lowercase hex digits/)).toBeTruthy();
  });

  it("searches the log files for a trace, then goes back to the live view", async () => {
    const user = await open();
    const FILES_TRACE = "2bf92f3577b34da6a3ce929d0e0e473c";
    expect((await traced(FILES_TRACE, "console-files-1")).status).toBe(200);
    expect((await traced(OTHER, "console-files-other")).status).toBe(200);
    await user.type(screen.getByLabelText("Trace id"), FILES_TRACE);
    await user.click(screen.getByRole("button", { name: "Search files" }));
    const section = await screen.findByRole("region", { name: "Log files" });
    await waitFor(() => expect(within(section).getByRole("status").textContent).toMatch(/^\d+ matching lines? from the log files of \S+ \(\d+ files? read\)\.$/));
    const rows = within(section).getAllByRole("row").slice(1);
    expect(rows.some((row) => row.textContent?.includes("console-files-1"))).toBe(true);
    expect(rows.some((row) => row.textContent?.includes("console-files-other"))).toBe(false);
    expect(within(section).getAllByRole("link", { name: `Open trace ${FILES_TRACE} in the trace viewer` }).length).toBeGreaterThan(0);
    await user.click(within(section).getByRole("button", { name: "Back to live" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Live"), { timeout: 10_000 });
    expect(screen.queryByRole("region", { name: "Log files" })).toBeNull();
  });

  it("shows a task's trace on its page, and leads an admin to the task's log lines and its trace's", async () => {
    const TASK_TRACE = "3cf92f3577b34da6a3ce929d0e0e473d";
    const created = await server.request("/api/agent/task", {
      method: "POST",
      headers: { traceparent: `00-${TASK_TRACE}-00f067aa0ba902b7-01` },
      json: { goal: "a traced task", plan: { goal: "a traced task", steps: [{ id: "only", capability: "nobody_serves_this" }] } },
    });
    expect(created.status).toBe(202);
    const task = ((await created.json()) as { task: { id: string; traceId?: string } }).task;
    expect(task.traceId).toBe(TASK_TRACE);

    renderApp(server, { path: `/agents/tasks/${task.id}` });
    await screen.findByRole("heading", { name: "Task: a traced task" }, { timeout: 15_000 });
    const trace = screen.getByText("Trace");
    expect(trace.tagName).toBe("DT");
    expect(trace.nextElementSibling!.textContent).toBe(TASK_TRACE);
    expect(screen.getByRole("link", { name: "Log lines of its trace" }).getAttribute("href")).toBe(`/console?traceId=${TASK_TRACE}`);

    await userEvent.setup().click(screen.getByRole("link", { name: "Log lines of this task" }));
    await screen.findByRole("heading", { name: "Console" }, { timeout: 15_000 });
    // The link's filter is in the fields and applied: the task's lines (its failure), each in the task's trace.
    expect((screen.getByLabelText("Task id") as HTMLInputElement).value).toBe(task.id);
    await waitFor(() => expect(within(table()).queryAllByRole("row").length).toBeGreaterThan(1), { timeout: 10_000 });
    const rows = within(table()).getAllByRole("row").slice(1);
    expect(rows.every((row) => row.textContent?.includes(task.id))).toBe(true);
  });

  it("leads from a playground call's trace to its log lines", async () => {
    const registered = await server.request("/api/services/register", {
      method: "POST",
      json: { id: "traced-openai", name: "Traced OpenAI", type: "service", provider: "openai", capabilities: ["llm_chat"], url: fake.url, visibility: "public" },
    });
    expect(registered.status).toBe(201);
    renderApp(server, { path: "/playground" });
    await screen.findByRole("heading", { name: "Playground" }, { timeout: 15_000 });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Model"), "gpt-fake");
    await user.type(screen.getByLabelText("Message"), "Say hello");
    await user.click(screen.getByRole("button", { name: "Send" }));
    const served = await screen.findByRole("region", { name: "Served by" }, { timeout: 10_000 });
    const traceId = /Trace id([0-9a-f]{32})/.exec(served.textContent ?? "")?.[1];
    expect(traceId, served.textContent ?? "").toBeDefined();
    await user.click(within(served).getByRole("link", { name: "log lines of the trace" }));
    await screen.findByRole("heading", { name: "Console" }, { timeout: 15_000 });
    expect((screen.getByLabelText("Trace id") as HTMLInputElement).value).toBe(traceId);
    await waitFor(() => expect(rowsWith("/v1/chat/completions").length).toBeGreaterThan(0), { timeout: 10_000 });
  });

  it("takes its filter from a link, and ignores one that is not valid", async () => {
    expect((await traced(OTHER, "console-linked-1")).status).toBe(200);
    expect((await traced(OTHER, "console-linked-other")).status).toBe(200);
    renderApp(server, { path: "/console?requestId=console-linked-1" });
    await screen.findByRole("heading", { name: "Console" }, { timeout: 15_000 });
    expect((screen.getByLabelText("Request id") as HTMLInputElement).value).toBe("console-linked-1");
    await waitFor(() => expect(rowsWith("console-linked-1").length).toBeGreaterThan(0), { timeout: 10_000 });
    expect(rowsWith("console-linked-other")).toEqual([]);
    cleanup();

    // A trace id that is not one: no filter at all (every line), not a page that shows nothing.
    renderApp(server, { path: "/console?traceId=not-a-trace&requestId=console-linked-1" });
    await screen.findByRole("heading", { name: "Console" }, { timeout: 15_000 });
    expect((screen.getByLabelText("Trace id") as HTMLInputElement).value).toBe("");
    expect((screen.getByLabelText("Request id") as HTMLInputElement).value).toBe("");
    await waitFor(() => expect(rowsWith("console-linked-other").length).toBeGreaterThan(0), { timeout: 10_000 });
  });

  it("names the trace of an error the node answered, beside its code and request id", async () => {
    const client = createClient({ url: server.url, token: server.adminToken });
    const failure = await client.services.get("no-such-service").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KaiApiError);
    const traceId = (failure as KaiApiError).traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    render(<ErrorNotice error={failure} />);
    const notice = screen.getByRole("alert");
    expect(notice.textContent).toContain(`trace ${traceId}`);
    expect(notice.textContent).toContain("code not_found");
  });
});
