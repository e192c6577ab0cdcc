// The Overview against a real node and the server tests' fake OpenAI upstream: services by status that follow a
// registration without reload, gateway traffic right now with its errors (code, request id, the service's link),
// and what a session without metrics:read or federation:admin sees instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

/** The server tests' fake OpenAI server, loaded by path at run time (as the harness loads the server). */
interface FakeUpstream {
  url: string;
  scenario: { kind: string; status?: number };
  close(): Promise<void>;
}
const FAKES = new URL("../../../../server/test/gateway/fakes/openai-fake.ts", import.meta.url).pathname;
const startOpenAIFake = async (): Promise<FakeUpstream> => ((await import(/* @vite-ignore */ FAKES)) as { startOpenAIFake(): Promise<FakeUpstream> }).startOpenAIFake();

let server: TestServer;
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false }, gateway: { retries: 0, breaker: { failureThreshold: 3, probeIntervalMs: 0 } } } });
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: { id: "ov-llm", name: "Overview LLM", provider: "openai", capabilities: ["llm_chat"], url: upstream.url, visibility: "public", metadata: { models: ["gpt-fake"] } },
  });
  expect(registered.status).toBe(201);
});
afterAll(async () => {
  await server?.dispose();
  await upstream?.close();
});

const chat = () => server.request("/v1/chat/completions", { method: "POST", json: { model: "ov-llm/gpt-fake", messages: [{ role: "user", content: "hi" }] } });

function panel(name: string): HTMLElement {
  const section = screen.getByRole("heading", { name, level: 2 }).closest("section");
  if (!section) throw new Error(`no panel ${name}`);
  return section;
}

function figure(list: HTMLElement, term: string): string {
  const dt = within(list).getByText(term, { selector: "dt" });
  return dt.nextElementSibling?.textContent ?? "";
}

describe("the overview", () => {
  it("shows services by status and follows a new registration without reload", async () => {
    renderApp(server);
    await screen.findByRole("heading", { name: "Overview", level: 1 }, { timeout: 10_000 });
    const active = await screen.findByRole("link", { name: /^\d+ active$/ }, { timeout: 10_000 });
    const before = Number(active.textContent);
    // This node has no TLS files: no TLS panel (tls-panel.test.tsx shows one that has).
    expect(screen.queryByRole("heading", { name: "TLS", level: 2 })).toBeNull();
    const registered = await server.request("/api/services/register", { method: "POST", json: { id: "ov-new", name: "Newcomer", url: "http://127.0.0.1:9/", visibility: "public" } });
    expect(registered.status).toBe(201);
    // The stream refetches the counts; the poll alone would take 15 s.
    await screen.findByRole("link", { name: `${before + 1} active` }, { timeout: 5_000 });
  });

  it("shows gateway calls, the error rate and the latest error with its code, request id and service", async () => {
    for (let i = 0; i < 3; i++) expect((await chat()).status).toBe(200);
    upstream.scenario = { kind: "status", status: 500 };
    const failed = await chat();
    upstream.scenario = { kind: "ok" };
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const requestId = failed.headers.get("x-request-id") ?? "";

    renderApp(server);
    const now = await screen.findByLabelText("Gateway right now", {}, { timeout: 10_000 });
    await waitFor(() => expect(figure(now, "Calls")).toBe("4"), { timeout: 10_000 });
    expect(figure(now, "Error rate")).toBe("25 %");
    expect(figure(now, "Latency p50")).not.toBe("no data");

    const traffic = panel("Gateway traffic");
    const errors = within(traffic).getByRole("table", { name: "Recent errors" });
    const row = within(errors).getByText(requestId).closest("tr")!;
    expect(within(row).getByRole("link", { name: "ov-llm" }).getAttribute("href")).toBe("/services/ov-llm");
    expect(within(row).getByText(/^[a-z_]+$/, { selector: "td.font-mono" })).toBeTruthy();
    const busiest = within(traffic).getByRole("table", { name: "Busiest services (last hour)" });
    expect(within(busiest).getByRole("link", { name: "ov-llm" })).toBeTruthy();
    expect(within(traffic).getByRole("figure", { name: /Calls and errors per minute: 4 calls and 1 errors/ })).toBeTruthy();
    // The admin sees the vault and the (empty) peers.
    expect(within(panel("Vault")).getByText(/^(locked|unlocked|not initialised)$/)).toBeTruthy();
    expect(await within(panel("Peers")).findByText(/No federation peers/)).toBeTruthy();
  });

  it("tells a session without metrics:read why traffic is missing, and hides the peers", async () => {
    const token = await mintToken(server, ["services:read"]);
    renderApp(server, { token });
    await screen.findByRole("link", { name: /^\d+ active$/ }, { timeout: 10_000 });
    expect(within(panel("Gateway traffic")).getByText(/does not include metrics:read/)).toBeTruthy();
    expect(screen.queryByRole("heading", { name: "Peers" })).toBeNull();
    expect(screen.queryByRole("table", { name: "Recent errors" })).toBeNull();
  });
});
