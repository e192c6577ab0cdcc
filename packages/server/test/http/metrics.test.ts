// /metrics: Prometheus text for a scraper holding only metrics:read; request counts by route pattern (never
// by raw path), registry gauges read at scrape time, and no token or secret in the exposition. Gateway series
// (upstream calls, latency, tokens, calls in flight) follow routed traffic, scrape after scrape.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../gateway/fakes/openai-fake.js";
import { PROMPT_TOKENS, type FakeUpstream } from "../gateway/fakes/fake-server.js";
import { sampleOf } from "../helpers/exposition.js";

let server: TestServer;
let scraper: string;
let upstream: FakeUpstream | undefined;

beforeAll(async () => {
  server = await startTestServer();
  scraper = await mintToken(server, ["metrics:read"], "prometheus");
});
afterAll(async () => {
  await server.dispose();
  await upstream?.close();
});

async function scrape(): Promise<string> {
  const response = await server.request("/metrics", { token: scraper });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}


describe("/metrics", () => {
  it("counts requests by route pattern and shows registry gauges", async () => {
    for (const id of ["m-1", "m-2"]) expect((await server.request("/api/services/register", { method: "POST", json: registration({ id }) })).status).toBe(201);
    for (const id of ["m-1", "m-2", "m-missing"]) await server.request(`/api/services/${id}`);
    const text = await scrape();
    expect(sampleOf(text, "kai_http_requests_total", 'method="GET",route="/api/services/:id",status="200"')).toBeGreaterThanOrEqual(2);
    expect(sampleOf(text, "kai_http_requests_total", 'method="GET",route="/api/services/:id",status="404"')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain("m-missing");
    expect(sampleOf(text, "kai_registry_services", 'status="active"')).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^kai_registry_revision \d+$/m);
    expect(text).toMatch(/^kai_process_cpu_seconds_total /m);
    expect(text).not.toContain(server.adminToken);
    expect(text).not.toContain(scraper);
  });

  it("counts routed gateway calls, their latency, tokens and calls in flight, scrape after scrape", async () => {
    upstream = await startOpenAIFake();
    expect((await server.request("/api/services/register", { method: "POST", json: registration({ id: "metered", url: upstream.url, metadata: { models: [OPENAI_MODEL] } }) })).status).toBe(201);
    const caller = await mintToken(server, ["gateway:invoke"], "metered-caller");
    const chat = async (stream: boolean) => {
      const response = await server.request("/v1/chat/completions", { method: "POST", token: caller, json: { model: OPENAI_MODEL, stream, messages: [{ role: "user", content: "hi" }] } });
      expect(response.status).toBe(200);
      await response.text();
    };
    const upstreamLabels = `service="metered",provider="openai",capability="llm_chat"`;
    const calls = (text: string) => sampleOf(text, "kai_gateway_upstream_requests_total", `${upstreamLabels},outcome="ok"`);
    await chat(false);
    await chat(true);
    let text = await scrape();
    expect(calls(text)).toBe(2);
    expect(sampleOf(text, "kai_gateway_upstream_duration_seconds_count", upstreamLabels)).toBe(2);
    expect(sampleOf(text, "kai_gateway_in_flight", 'service="metered"')).toBe(0);
    expect(sampleOf(text, "kai_gateway_tokens_total", 'service="metered",kind="prompt"')).toBeGreaterThanOrEqual(PROMPT_TOKENS);
    expect(sampleOf(text, "kai_http_requests_total", 'method="POST",route="/v1/chat/completions",status="200"')).toBe(2);
    expect(sampleOf(text, "kai_http_request_duration_seconds_count", 'method="POST",route="/v1/chat/completions"')).toBe(2);
    expect(text).toMatch(/^kai_gateway_overhead_seconds_count [1-9]/m);
    await chat(false);
    text = await scrape();
    expect(calls(text)).toBe(3);
    expect(sampleOf(text, "kai_http_requests_total", 'method="POST",route="/v1/chat/completions",status="200"')).toBe(3);
    expect(sampleOf(text, "kai_gateway_in_flight", 'service="metered"')).toBe(0);
  });

  it("declares every *_total series a counter, so that rate() and increase() apply (federation's rejections were a gauge)", async () => {
    const types = new Map([...(await scrape()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
    expect(types.get("kai_federation_rejected_total")).toBe("counter");
    // prom-client's standard Node.js series `nodejs_active_{handles,requests,resources}_total` are gauges by their
    // conventional names, which dashboards expect; every series of our own follows the counter convention.
    const totals = [...types].filter(([name]) => name.endsWith("_total") && !/^kai_nodejs_active_\w+_total$/.test(name));
    expect(totals.length).toBeGreaterThan(1);
    for (const [name, type] of totals) expect(type, name).toBe("counter");
  });

  it("shows the vault locked while it is, and this node of one instance as its own leader", async () => {
    let text = await scrape();
    expect(sampleOf(text, "kai_vault_locked")).toBe(0);
    expect(sampleOf(text, "kai_cluster_leader")).toBe(1);
    expect(sampleOf(text, "kai_cluster_instances")).toBe(1);
    expect((await server.request("/api/vault/lock", { method: "POST", json: {} })).status).toBe(200);
    try {
      text = await scrape();
      expect(sampleOf(text, "kai_vault_locked")).toBe(1);
    } finally {
      expect((await server.request("/api/vault/unlock", { method: "POST", json: {} })).status).toBe(200);
    }
    expect(sampleOf(await scrape(), "kai_vault_locked")).toBe(0);
  });

  it("counts the security log's events by type and outcome (a failed sign-in)", async () => {
    const failed = (text: string) => sampleOf(text, "kai_security_events_total", 'type="sign_in_failed",outcome="failure"') ?? 0;
    const before = failed(await scrape());
    const login = await server.request("/api/auth/login", { method: "POST", token: null, json: { username: "nobody-here", password: "not the password" } });
    expect(login.status).toBe(401);
    await expect.poll(async () => failed(await scrape())).toBe(before + 1);
  });

  it("refuses a token without metrics:read", async () => {
    const reader = await mintToken(server, ["services:read"], "reader");
    const response = await server.request("/metrics", { token: reader });
    expect(response.status).toBe(403);
  });
});
