/**
 * `kai chat`, `kai route` and `kai services check` end to end: the built CLI against a real server routing to
 * a fake OpenAI upstream over sockets. stdout carries only the answer; who served it goes to stderr; a broken
 * stream and a failing probe are failures with the documented exit code.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";
import { OPENAI_MODEL, startOpenAIFake } from "../../server/test/gateway/fakes/openai-fake.js";
import { ANSWER, type FakeUpstream } from "../../server/test/gateway/fakes/fake-server.js";

let server: TestServer;
let box: Sandbox;
let upstream: FakeUpstream;

const kai = (args: string[], input?: string) =>
  runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken }, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  // One model in its list too, so that `kai chat` without -m has exactly one to choose.
  upstream = await startOpenAIFake({ models: [OPENAI_MODEL] });
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  const registered = await kai(["services", "register", "-f", "-"], JSON.stringify({ id: "llm", name: "LLM", type: "service", provider: "openai", capabilities: ["llm_chat"], url: upstream.url, visibility: "public", metadata: { models: [OPENAI_MODEL] } }));
  expect(registered.code, registered.stderr).toBe(0);
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
  box?.cleanup();
});
beforeEach(() => {
  upstream.scenario = { kind: "ok" };
});

describe("kai chat / route / services check", () => {
  it("streams a chat answer to stdout and says who served it on stderr", async () => {
    const chat = await kai(["chat", "-m", OPENAI_MODEL, "say", "hello"]);
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stdout).toBe(`${ANSWER}\n`);
    expect(chat.stderr).toMatch(/served by llm \(1 attempt, gateway overhead [\d.]+ ms\)/);
    expect((upstream.last("/v1/chat/completions")?.body as { messages: { content: string }[] }).messages[0]?.content).toBe("say hello");
  });

  it("reads the prompt from stdin and answers JSON with --json", async () => {
    const chat = await kai(["chat", "-m", OPENAI_MODEL, "--json"], "from stdin\n");
    expect(chat.code, chat.stderr).toBe(0);
    const body = JSON.parse(chat.stdout) as { servedBy: unknown; choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(ANSWER);
    // One shape for servedBy, in chat and route alike.
    const routed = await kai(["route", "llm_chat", "-d", JSON.stringify({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }), "--json"]);
    expect(body.servedBy).toEqual({ id: "llm", provider: "openai" });
    expect((JSON.parse(routed.stdout) as { servedBy: unknown }).servedBy).toEqual(body.servedBy);
  });

  it("without -m, chats with the only chat model there is, and lists the models when there are several", async () => {
    const only = await kai(["chat", "hello"]);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stdout).toBe(`${ANSWER}\n`);
    expect(only.stderr).toContain(`model: ${OPENAI_MODEL}`);
    expect((upstream.last("/v1/chat/completions")?.body as { model: string }).model).toBe(OPENAI_MODEL);
    const second = await kai(["services", "register", "-f", "-"], JSON.stringify({ id: "llm2", name: "LLM 2", type: "service", provider: "openai", capabilities: ["llm_chat"], url: upstream.url, visibility: "public", metadata: { models: ["other-model"] } }));
    expect(second.code, second.stderr).toBe(0);
    try {
      const several = await kai(["chat", "hello"]);
      expect(several.code).toBe(2);
      expect(several.stderr).toContain("-m");
      expect(several.stderr).toContain(OPENAI_MODEL);
      expect(several.stderr).toContain("other-model");
      const models = await kai(["models", "--capability", "llm_chat", "--json"]);
      expect(models.code, models.stderr).toBe(0);
      expect((JSON.parse(models.stdout) as { id: string }[]).map((model) => model.id)).toEqual(expect.arrayContaining([OPENAI_MODEL, "other-model", `llm/${OPENAI_MODEL}`, "llm2/other-model"]));
    } finally {
      expect((await kai(["services", "rm", "llm2"])).code).toBe(0);
    }
  });

  it("fails with exit code 7 when the stream breaks midway", async () => {
    upstream.scenario = { kind: "fail-mid-stream" };
    const chat = await kai(["chat", "-m", OPENAI_MODEL, "hi"]);
    expect(chat.code).toBe(7);
    expect(chat.stderr).toMatch(/error:/);
  });

  it("routes the generic form", async () => {
    const routed = await kai(["route", "llm_chat", "-d", JSON.stringify({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }), "--json"]);
    expect(routed.code, routed.stderr).toBe(0);
    expect(JSON.parse(routed.stdout)).toMatchObject({ servedBy: { id: "llm" }, attempts: 1 });
    const bad = await kai(["route", "llm_chat"]);
    expect(bad.code).toBe(2);
  });

  it("probes a service: 0 when healthy, 7 when failing", async () => {
    const healthy = await kai(["services", "check", "llm"]);
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(healthy.stdout).toMatch(/^health:\s+ok$/m);
    upstream.scenario = { kind: "status", status: 503 };
    const failing = await kai(["services", "check", "llm", "--json"]);
    expect(failing.code).toBe(7);
    expect(JSON.parse(failing.stdout)).toMatchObject({ serviceId: "llm", ok: false });
  });
});
