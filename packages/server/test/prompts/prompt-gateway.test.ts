/**
 * A stored prompt used by name on `/v1/chat/completions` through the real node and the project's OpenAI fake: the
 * rendered messages reach the provider before the body's own (and `prompt` never does), the version a label resolved
 * to is in `x-kai-prompt-version` and in a log line with the request id, streaming works the same, a vault reference
 * reaches the provider but no log line, and the refusals (no `prompts:read`, a missing variable, an unknown label) come
 * before any upstream call.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, PROMPT_VERSION_HEADER } from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../gateway/fakes/openai-fake.js";

let server: TestServer;
let fake: FakeUpstream;
let caller: string;
let noPrompts: string;
const SECRET = "house-style-secret-7731";

const chat = (body: Record<string, unknown>, token = caller) => server.request("/v1/chat/completions", { method: "POST", token, json: { model: OPENAI_MODEL, ...body } });
const sent = () => fake.last("/v1/chat/completions")?.body as { messages: Array<{ role: string; content: string }>; prompt?: unknown } | undefined;

async function code(response: Response, status: number): Promise<string> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return ErrorBodySchema.parse(JSON.parse(text)).error.code;
}

beforeAll(async () => {
  fake = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const registered = await server.request("/api/services/register", { method: "POST", json: registration({ id: "llm", provider: "openai", url: fake.url, metadata: { models: [OPENAI_MODEL] } }) });
  expect(registered.status, await registered.text()).toBeLessThan(300);
  caller = await mintToken(server, ["gateway:invoke", "prompts:read", "prompts:write", "vault:read"], "alice");
  noPrompts = await mintToken(server, ["gateway:invoke"], "alice");
  expect((await server.request("/api/vault/secrets/style/house", { method: "PUT", json: { value: SECRET } })).status).toBeLessThan(300);
  const save = (body: unknown) => server.request("/api/prompts/support", { method: "PUT", token: caller, json: body });
  expect((await save({ template: [{ role: "system", content: "You help with {{product}}." }], variables: [{ name: "product" }] })).status).toBe(201);
  expect((await save({ template: [{ role: "system", content: "You help with {{product}}. {{vault:style/house}}" }], variables: [{ name: "product" }], labels: ["production"] })).status).toBe(200);
  expect((await save({ template: "Draft about {{product}}", variables: [{ name: "product" }] })).status).toBe(200);
});
afterAll(async () => {
  await server?.dispose();
  await fake?.close();
});

describe("a prompt by name on /v1/chat/completions", () => {
  it("renders the labelled version before the body's messages, records the version, and never forwards `prompt`", async () => {
    const response = await chat({ prompt: { name: "support", label: "production", variables: { product: "kAI" } }, messages: [{ role: "user", content: "hello" }] });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get(PROMPT_VERSION_HEADER)).toBe("support@2");
    expect(sent()?.messages).toEqual([
      { role: "system", content: `You help with kAI. ${SECRET}` },
      { role: "user", content: "hello" },
    ]);
    expect(sent()?.prompt).toBeUndefined();
    const requestId = response.headers.get("x-request-id")!;
    const line = server.logs.find((entry) => entry.includes('"prompt rendered"') && entry.includes(requestId));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ prompt: "support", promptVersion: 2 });
    expect(server.logs.some((entry) => entry.includes(SECRET))).toBe(false);
  });

  it("takes a prompt without messages (a text prompt becomes one user message), pinned by version, streaming too", async () => {
    const response = await chat({ prompt: { name: "support", variables: { product: "docs" } }, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get(PROMPT_VERSION_HEADER)).toBe("support@3");
    await response.text();
    expect(sent()?.messages).toEqual([{ role: "user", content: "Draft about docs" }]);
    const pinned = await chat({ prompt: { name: "support", version: 1, variables: { product: "x" } } });
    expect(pinned.headers.get(PROMPT_VERSION_HEADER)).toBe("support@1");
  });

  it("refuses before any upstream call: no prompts:read, a missing variable, an unknown label, neither prompt nor messages", async () => {
    const calls = fake.requests.length;
    expect(await code(await chat({ prompt: { name: "support", variables: { product: "x" } } }, noPrompts), 403)).toBe("forbidden");
    expect(await code(await chat({ prompt: { name: "support", variables: {} } }), 422)).toBe("prompt_variables_invalid");
    expect(await code(await chat({ prompt: { name: "support", label: "canary", variables: { product: "x" } } }), 404)).toBe("not_found");
    expect(await code(await chat({}), 400)).toBe("validation_failed");
    expect(fake.requests.length).toBe(calls);
  });
});
