/**
 * The runtime configuration layer on a real node (issue 18): a rate limit tier and the gateway's deadline changed with
 * PATCH /api/config apply to the next request (no restart), the runtime layer is stored by the node and applied again after a restart, and a
 * configuration file changed on disk is reloaded and recorded in the security log (actor `file`). Two instances
 * sharing a change: test/cluster/two-instances.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../gateway/fakes/openai-fake.js";

const dir = mkdtempSync(join(tmpdir(), "kai-config-runtime-"));
const dataDir = join(dir, "data");
const systemFile = join(dir, "system.yaml");
let server: TestServer;

const start = () => startTestServer({ keepDataDir: dataDir, env: { KAI_SYSTEM_CONFIG: systemFile } });
const patch = (settings: Record<string, unknown>) => server.request("/api/config", { method: "PATCH", json: { settings } });
const explain = async (key: string) => (await (await server.request(`/api/config/explain?key=${key}`)).json()) as { value: unknown; winner: string; live: boolean };

beforeAll(async () => {
  writeFileSync(systemFile, "rateLimit:\n  read:\n    max: 500\n");
  server = await start();
});

afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("the runtime configuration layer", () => {
  it("changes a rate limit tier live: the next requests are counted against the new limit", async () => {
    const reader = await mintToken(server, ["services:read"], "rita");
    expect((await explain("rateLimit.read.max")).live).toBe(true);
    const changed = await patch({ "rateLimit.read": { max: 3, windowSeconds: 60 } });
    expect(changed.status, await changed.clone().text()).toBe(200);
    const statuses: number[] = [];
    let limitHeader: string | null = null;
    for (let i = 0; i < 5; i++) {
      const response = await server.request("/api/services", { token: reader });
      statuses.push(response.status);
      limitHeader ??= response.headers.get("ratelimit-limit");
    }
    expect(limitHeader).toBe("3");
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    // rateLimit.enabled decides which hooks exist: it needs a restart.
    const restart = await patch({ "rateLimit.enabled": false });
    expect(restart.status).toBe(409);
  });

  it("changes the gateway's routing live: a shorter deadline applies to the next request", async () => {
    const fake = await startOpenAIFake();
    try {
      fake.scenario = { kind: "stall" };
      const registered = await server.request("/api/services/register", { method: "POST", json: { id: "slow-openai", name: "Slow", provider: "openai", url: fake.url, capabilities: ["llm_chat"], metadata: { models: [OPENAI_MODEL] } } });
      expect(registered.status, await registered.clone().text()).toBe(201);
      expect((await explain("gateway.deadlineMs")).live).toBe(true);
      expect((await patch({ "gateway.deadlineMs": 300, "gateway.retries": 0 })).status).toBe(200);
      const started = Date.now();
      const answer = await server.request("/v1/chat/completions", { method: "POST", json: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] } });
      expect(answer.status).toBe(504);
      expect(((await answer.json()) as { error: { message: string } }).error.message).toContain("deadline of 300 ms");
      // Well under the default 120 s deadline (a bound for a hang, not a speed assertion).
      expect(Date.now() - started).toBeLessThan(60_000);
      expect((await patch({ "gateway.deadlineMs": null, "gateway.retries": null })).status).toBe(200);
      expect((await server.request("/api/services/slow-openai", { method: "DELETE" })).status).toBe(204);
    } finally {
      await fake.close();
    }
  });

  it("is stored by the node: a restart applies it again", async () => {
    expect((await patch({ "logging.level": "warn" })).status).toBe(200);
    await server.dispose();
    server = await start();
    expect(await explain("logging.level")).toMatchObject({ value: "warn", winner: "runtime" });
    expect(await explain("rateLimit.read.max")).toMatchObject({ value: 3, winner: "runtime" });
    expect((await patch({ "logging.level": null, "rateLimit.read": null })).status).toBe(200);
    expect(await explain("rateLimit.read.max")).toMatchObject({ value: 500, winner: "system" });
  });

  it("reloads a changed file and records it in the security log; an invalid file keeps the last good one", async () => {
    writeFileSync(systemFile, "rateLimit:\n  read:\n    max: 600\n");
    await eventually(async () => ((await explain("rateLimit.read.max")).value === 600 ? true : undefined), 10_000);
    const audit = await eventually(async () => {
      const events = ((await (await server.request("/api/security/events?type=config_changed")).json()) as { events: Array<{ actor: string | null; details: Record<string, unknown> }> }).events;
      return events.find((event) => event.actor === "file" && event.details.key === "rateLimit.read.max");
    }, 10_000);
    expect(audit.details).toMatchObject({ old: 500, new: 600, source: "file" });
    writeFileSync(systemFile, "rateLimit:\n  read:\n    max: -1\n");
    await eventually(async () => (server.logs.some((line) => line.includes("a configuration file is invalid")) ? true : undefined), 10_000);
    expect((await explain("rateLimit.read.max")).value).toBe(600);
  });
});
