// /metrics: Prometheus text for a scraper holding only metrics:read; request counts by route pattern (never
// by raw path), registry gauges read at scrape time, and no token or secret in the exposition.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let scraper: string;

beforeAll(async () => {
  server = await startTestServer();
  scraper = await mintToken(server, ["metrics:read"], "prometheus");
});
afterAll(async () => server.dispose());

async function scrape(): Promise<string> {
  const response = await server.request("/metrics", { token: scraper });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((row) => row.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

describe("/metrics", () => {
  it("counts requests by route pattern and shows registry gauges", async () => {
    for (const id of ["m-1", "m-2"]) expect((await server.request("/api/services/register", { method: "POST", json: registration({ id }) })).status).toBe(201);
    for (const id of ["m-1", "m-2", "m-missing"]) await server.request(`/api/services/${id}`);
    const text = await scrape();
    expect(sample(text, "kai_http_requests_total", 'method="GET",route="/api/services/:id",status="200"')).toBeGreaterThanOrEqual(2);
    expect(sample(text, "kai_http_requests_total", 'method="GET",route="/api/services/:id",status="404"')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain("m-missing");
    expect(sample(text, "kai_registry_services", 'status="active"')).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^kai_registry_revision \d+$/m);
    expect(text).toMatch(/^kai_process_cpu_seconds_total /m);
    expect(text).not.toContain(server.adminToken);
    expect(text).not.toContain(scraper);
  });

  it("refuses a token without metrics:read", async () => {
    const reader = await mintToken(server, ["services:read"], "reader");
    const response = await server.request("/metrics", { token: reader });
    expect(response.status).toBe(403);
  });
});
