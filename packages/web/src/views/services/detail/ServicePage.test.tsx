// A service's page against a real node and the server tests' fake OpenAI upstream: its record, its traffic over the
// last hour with the breaker that opened and the errors behind it, its models and a live check, its web UI in a
// sandboxed iframe (and none for an address that is not http), live changes of the record, and a service the
// session may not see.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../../test-support/app-harness";

/** The server tests' fake OpenAI server, loaded by path at run time (as the harness loads the server). */
interface FakeUpstream {
  url: string;
  scenario: { kind: string; status?: number };
  close(): Promise<void>;
}
const FAKES = new URL("../../../../../server/test/gateway/fakes/openai-fake.ts", import.meta.url).pathname;
const startOpenAIFake = async (): Promise<FakeUpstream> => ((await import(/* @vite-ignore */ FAKES)) as { startOpenAIFake(): Promise<FakeUpstream> }).startOpenAIFake();

let server: TestServer;
let upstream: FakeUpstream;
const failedRequestIds: string[] = [];

async function register(body: Record<string, unknown>): Promise<void> {
  const response = await server.request("/api/services/register", { method: "POST", json: { provider: "openai", capabilities: ["llm_chat"], visibility: "public", ...body } });
  expect(response.status, await response.clone().text()).toBe(201);
}

beforeAll(async () => {
  upstream = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false }, gateway: { retries: 0, breaker: { failureThreshold: 2, openMs: 600_000, probeIntervalMs: 0 } } } });
  await register({ id: "sp-llm", name: "Page LLM", url: upstream.url, metadata: { models: ["declared-only"], ui: "/ui/" } });
  const chat = () => server.request("/v1/chat/completions", { method: "POST", json: { model: "sp-llm/gpt-fake", messages: [{ role: "user", content: "hi" }] } });
  for (let i = 0; i < 2; i++) expect((await chat()).status).toBe(200);
  upstream.scenario = { kind: "status", status: 500 };
  for (let i = 0; i < 2; i++) failedRequestIds.push((await chat()).headers.get("x-request-id") ?? "");
  upstream.scenario = { kind: "ok" };
});
afterAll(async () => {
  await server?.dispose();
  await upstream?.close();
});

function panel(name: string): HTMLElement {
  const section = screen.getByRole("heading", { name, level: 2 }).closest("section");
  if (!section) throw new Error(`no panel ${name}`);
  return section;
}

function figure(list: HTMLElement, term: string): string {
  return within(list).getByText(term, { selector: "dt" }).nextElementSibling?.textContent ?? "";
}

describe("a service's page", () => {
  it("shows its traffic, the breaker that opened, and the errors behind it", async () => {
    renderApp(server, { path: "/services/sp-llm" });
    await screen.findByRole("heading", { name: "Page LLM", level: 1 }, { timeout: 10_000 });
    const hour = await screen.findByLabelText("Service in the last hour", {}, { timeout: 10_000 });
    expect(figure(hour, "Calls")).toBe("4");
    expect(figure(hour, "Error rate")).toBe("50 %");
    const live = screen.getByLabelText("Breaker and live state");
    expect(figure(live, "Breaker")).toMatch(/^open/);
    expect(within(screen.getByRole("list", { name: "Breaker changes, oldest first" })).getByText(/closed →/).textContent).toMatch(/closed → open/);
    const errors = within(panel("Activity")).getByRole("table", { name: "Recent errors" });
    for (const requestId of failedRequestIds) expect(within(errors).getByText(requestId)).toBeTruthy();
    expect(screen.getByRole("figure", { name: /Calls and errors per minute: 4 calls and 2 errors/ })).toBeTruthy();
  });

  it("shows the record, the models the gateway lists for it, and checks it on request", async () => {
    renderApp(server, { path: "/services/sp-llm" });
    const record = await screen.findByLabelText("Service record", {}, { timeout: 10_000 });
    expect(figure(record, "Address")).toBe(upstream.url);
    expect(figure(record, "Capabilities")).toBe("llm_chat");
    const models = await screen.findByRole("list", { name: "Models" }, { timeout: 10_000 });
    await waitFor(() => expect(within(models).getByText("gpt-fake")).toBeTruthy(), { timeout: 10_000 });
    await userEvent.setup().click(screen.getByRole("button", { name: "Check now" }));
    expect((await within(panel("Models")).findByRole("status", {}, { timeout: 10_000 })).textContent).toMatch(/^reachable/);
  });

  it("frames its web UI in a sandbox without this app's origin, and frames no address that is not http", async () => {
    const first = renderApp(server, { path: "/services/sp-llm" });
    const frame = await screen.findByTitle("Page LLM web UI", {}, { timeout: 10_000 });
    expect(frame.getAttribute("sandbox")).toBe("allow-scripts allow-forms");
    expect(frame.getAttribute("src")).toBe(`${upstream.url}/ui/`);
    first.unmount();

    await register({ id: "sp-sneaky", name: "Sneaky", url: "http://127.0.0.1:9/", metadata: { ui: "javascript:alert(1)" } });
    renderApp(server, { path: "/services/sp-sneaky" });
    await screen.findByRole("heading", { name: "Sneaky", level: 1 }, { timeout: 10_000 });
    expect(screen.queryByTitle("Sneaky web UI")).toBeNull();
    expect(screen.queryByRole("heading", { name: "Web UI" })).toBeNull();
  });

  it("follows changes of the record live and says when it was deregistered", async () => {
    await register({ id: "sp-live", name: "Live one", url: "http://127.0.0.1:9/" });
    renderApp(server, { path: "/services/sp-live" });
    await screen.findByRole("heading", { name: "Live one", level: 1 }, { timeout: 10_000 });
    await screen.findByLabelText("Service in the last hour", {}, { timeout: 10_000 });
    const patched = await server.request("/api/services/sp-live", { method: "PATCH", json: { name: "Live one, renamed" } });
    expect(patched.status).toBe(200);
    await screen.findByRole("heading", { name: "Live one, renamed", level: 1 }, { timeout: 5_000 });
    expect((await server.request("/api/services/sp-live", { method: "DELETE" })).status).toBeLessThan(300);
    expect((await screen.findByRole("alert", {}, { timeout: 5_000 })).textContent).toMatch(/deregistered/);
  });

  it("does not show a service the session may not see", async () => {
    await register({ id: "sp-private", name: "Bob's", owner: "bob", visibility: "private", url: "http://127.0.0.1:9/" });
    const token = await mintToken(server, ["services:read"], "alice");
    renderApp(server, { token, path: "/services/sp-private" });
    await screen.findByRole("heading", { name: "Service not found", level: 1 }, { timeout: 10_000 });
    expect(screen.queryByText("Bob's")).toBeNull();
  });
});
