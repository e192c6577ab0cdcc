// `gateway.maxResponseBytes` end to end: validated with the rest of the configuration (a bad value stops the start),
// carried into the router's options, and applied by a real server to real upstream sockets: an oversized answer is a
// 502 `upstream_invalid_response` with nothing of it relayed; a giant event after the first chunk ends the relayed
// stream with the in-band error frame (no `[DONE]`).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";
import { routerOptionsFromConfig } from "../../../src/gateway/router/index.js";
import { mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FRAMES_BEFORE_FAULT, type FakeUpstream } from "../fakes/fake-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../fakes/openai-fake.js";

const LIMIT = 1024 * 1024;

describe("gateway.maxResponseBytes configuration", () => {
  it("defaults to 64 MiB and reaches the router's options", () => {
    const config = loadConfig({ env: {} });
    expect(config.gateway.maxResponseBytes).toBe(64 * 1024 * 1024);
    expect(routerOptionsFromConfig(config.gateway).maxResponseBytes).toBe(64 * 1024 * 1024);
    expect(routerOptionsFromConfig(loadConfig({ env: {}, overrides: { gateway: { maxResponseBytes: LIMIT } } }).gateway).maxResponseBytes).toBe(LIMIT);
  });

  it("accepts 64 KiB .. 1 GiB and refuses anything else", () => {
    for (const ok of [64 * 1024, 1024 ** 3]) expect(loadConfig({ env: {}, overrides: { gateway: { maxResponseBytes: ok } } }).gateway.maxResponseBytes).toBe(ok);
    for (const bad of [64 * 1024 - 1, 1024 ** 3 + 1, 1.5 * 1024 * 1024 + 0.5, "lots"]) {
      expect(() => loadConfig({ env: {}, overrides: { gateway: { maxResponseBytes: bad as number } } })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ env: {}, overrides: { gateway: { maxResponseBytes: 0 } } })).toThrow(/gateway\.maxResponseBytes/);
  });

  it("a bad value stops the server from starting", async () => {
    await expect(startTestServer({ config: { gateway: { maxResponseBytes: 1 } } })).rejects.toThrow(/gateway\.maxResponseBytes/);
  });
});

describe("a server with gateway.maxResponseBytes = 1 MiB", () => {
  let server: TestServer;
  let upstream: FakeUpstream;
  let token: string;
  beforeAll(async () => {
    upstream = await startOpenAIFake();
    server = await startTestServer({ config: { rateLimit: { enabled: false }, vault: { pbkdf2Iterations: 10_000 }, gateway: { maxResponseBytes: LIMIT, retries: 0 } } });
    const registered = await server.request("/api/services/register", { method: "POST", json: registration({ id: "big", provider: "openai", url: upstream.url, metadata: { models: [OPENAI_MODEL] } }) });
    expect(registered.status).toBeLessThan(300);
    token = await mintToken(server, ["gateway:invoke"], "alice");
  });
  afterAll(async () => {
    await server?.dispose();
    await upstream?.close();
  });
  const chat = (stream: boolean) =>
    fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }], stream }),
    });

  it("answers 502 upstream_invalid_response to an oversized answer, relaying none of it", async () => {
    upstream.scenario = { kind: "oversized", bytes: 8 * LIMIT };
    const response = await chat(false);
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(text.length).toBeLessThan(4096);
    expect(JSON.parse(text)).toMatchObject({ error: { code: "upstream_invalid_response" } });
  });

  it("ends a stream with the in-band error frame when one event passes the limit after the first chunk", async () => {
    upstream.scenario = { kind: "oversized", bytes: 8 * LIMIT, midStream: true };
    const response = await chat(true);
    expect(response.status).toBe(200);
    const frames = (await response.text()).split("\n\n").filter(Boolean);
    expect(frames).toHaveLength(FRAMES_BEFORE_FAULT + 1);
    expect(frames.at(-1)).toMatch(/^data: /);
    expect(JSON.parse(frames.at(-1)!.slice("data: ".length))).toMatchObject({ error: { code: "upstream_invalid_response", status: 502 } });
    expect(frames).not.toContain("data: [DONE]");
  });
});
