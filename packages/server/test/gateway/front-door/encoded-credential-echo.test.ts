/**
 * A hostile provider echoes the credential the gateway injected, not as it was sent but encoded: base64 and
 * base64url (alone and at the other two byte alignments, as inside a Basic pair), percent- and form-encoded, or
 * the whole auth header value encoded. For every connector's wire format (each provider fake in its
 * `echo-credential` mode, also mid-stream for the streaming LLM connectors) and for a record's own auth header and
 * HTTP Basic, through the real server's front doors: neither the answer the caller gets nor any log line may hold
 * a run of 12 characters of what was echoed (what is left around `[redacted]` is at most a partial base64 group,
 * or the echoed header's scheme), nor the secret itself. The answer must show `[redacted]`: the provider's text
 * was relayed, scrubbed, not dropped.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { ECHO_ENCODINGS, encodeEcho, type EchoEncoding } from "../fakes/credential-echo.js";
import type { FakeUpstream } from "../fakes/fake-server.js";
import { startA1111Fake } from "../fakes/a1111-fake.js";
import { ANTHROPIC_MODEL, startAnthropicFake } from "../fakes/anthropic-fake.js";
import { startChromaFake } from "../fakes/chroma-fake.js";
import { startComfyFake } from "../fakes/comfyui-fake.js";
import { startN8nFake } from "../fakes/n8n-fake.js";
import { OLLAMA_MODEL, startOllamaFake } from "../fakes/ollama-fake.js";
import { OPENAI_MODEL, startOpenAIFake } from "../fakes/openai-fake.js";
import { startQdrantFake } from "../fakes/qdrant-fake.js";
import { startWhisperFake, WHISPER_MODEL } from "../fakes/whisper-fake.js";

// Characters that base64 (`+`, `/`), base64url and percent-encoding (space, `/`, `+`, `?`, `=`, `&`, `%`) all change.
const SECRET = `kai canary/${randomBytes(9).toString("hex")}+?=&%~~~??`;
const USER = "admin";
const WINDOW = 12;

let server: TestServer;
let token: string;
const fakes: FakeUpstream[] = [];

interface Case {
  /** What the case covers, for the test name. */
  readonly name: string;
  readonly start: () => Promise<FakeUpstream>;
  /** The registration (provider, capabilities, auth) apart from id and url. */
  readonly record: Record<string, unknown>;
  /** The call through a front door. */
  readonly call: () => Promise<Response>;
  /** The provider's error comes in-band, inside a 200 stream. */
  readonly midStream?: boolean;
}

const json = (path: string, body: unknown) => server.request(path, { method: "POST", token, json: body });
const chat = (model: string, stream = false) => () => json("/v1/chat/completions", { model, stream, messages: [{ role: "user", content: "hi" }] });
const bearer = { type: "bearer_token", token: SECRET };

const CASES: Case[] = [
  { name: "OpenAI (Bearer)", start: startOpenAIFake, record: { provider: "openai", capabilities: ["llm_chat"], metadata: { models: [OPENAI_MODEL] }, auth: bearer }, call: chat(OPENAI_MODEL) },
  {
    name: "OpenAI mid-stream",
    start: startOpenAIFake,
    record: { provider: "openai", capabilities: ["llm_chat"], metadata: { models: [OPENAI_MODEL] }, auth: bearer },
    call: chat(OPENAI_MODEL, true),
    midStream: true,
  },
  {
    name: "OpenAI behind a record's HTTP Basic",
    start: startOpenAIFake,
    record: { provider: "openai", capabilities: ["llm_chat"], metadata: { models: [OPENAI_MODEL] }, auth: { type: "basic", token: `${USER}:${SECRET}` } },
    call: chat(OPENAI_MODEL),
  },
  { name: "Anthropic (x-api-key)", start: startAnthropicFake, record: { provider: "anthropic", capabilities: ["llm_chat"], metadata: { models: [ANTHROPIC_MODEL] }, auth: { type: "api_key", token: SECRET } }, call: chat(ANTHROPIC_MODEL) },
  {
    name: "Anthropic mid-stream",
    start: startAnthropicFake,
    record: { provider: "anthropic", capabilities: ["llm_chat"], metadata: { models: [ANTHROPIC_MODEL] }, auth: { type: "api_key", token: SECRET } },
    call: chat(ANTHROPIC_MODEL, true),
    midStream: true,
  },
  { name: "Ollama (Bearer)", start: startOllamaFake, record: { provider: "ollama", capabilities: ["llm_chat"], metadata: { models: [OLLAMA_MODEL] }, auth: bearer }, call: chat(OLLAMA_MODEL) },
  { name: "Ollama mid-stream", start: startOllamaFake, record: { provider: "ollama", capabilities: ["llm_chat"], metadata: { models: [OLLAMA_MODEL] }, auth: bearer }, call: chat(OLLAMA_MODEL, true), midStream: true },
  {
    name: "A1111 (the connector's own HTTP Basic)",
    start: startA1111Fake,
    record: { provider: "a1111", capabilities: ["image_generation"], auth: { type: "bearer_token", token: `${USER}:${SECRET}` } },
    call: () => json("/v1/images/generations", { prompt: "a lighthouse" }),
  },
  { name: "ComfyUI (Bearer)", start: async () => (await startComfyFake()).fake, record: { provider: "comfyui", capabilities: ["image_generation"], auth: bearer }, call: () => json("/v1/images/generations", { prompt: "a lighthouse" }) },
  {
    name: "Chroma (x-chroma-token)",
    start: async () => (await startChromaFake()).fake,
    record: { provider: "chroma", capabilities: ["vector_storage"], auth: { type: "api_key", token: SECRET } },
    call: () => json("/api/route/vector_storage", { operation: "query", request: { collection: "docs", vector: [1, 0, 0], k: 1 } }),
  },
  {
    name: "Qdrant (api-key)",
    start: async () => (await startQdrantFake()).fake,
    record: { provider: "qdrant", capabilities: ["vector_storage"], auth: { type: "api_key", token: SECRET } },
    call: () => json("/api/route/vector_storage", { operation: "query", request: { collection: "docs", vector: [1, 0, 0], k: 1 } }),
  },
  {
    name: "Whisper (Bearer, multipart)",
    start: async () => (await startWhisperFake()).fake,
    record: { provider: "whisper", capabilities: ["audio_transcription"], metadata: { models: [WHISPER_MODEL] }, auth: bearer },
    call: () => {
      const form = new FormData();
      form.set("file", new Blob([Buffer.from("RIFF....WAVEfmt fake audio")], { type: "audio/wav" }), "clip.wav");
      form.set("model", WHISPER_MODEL);
      return server.request("/v1/audio/transcriptions", { method: "POST", token, body: form });
    },
  },
  {
    name: "n8n behind a record's own auth header",
    start: startN8nFake,
    record: { provider: "n8n", capabilities: ["workflow_orchestration"], auth: { type: "api_key", header: "X-Secret-Header", token: SECRET } },
    call: () => json("/api/route/workflow_orchestration", { operation: "run", request: { workflow: "hook", input: { a: 1 } } }),
  },
];

beforeAll(async () => {
  // Eleven broken streams in a row would open a service's breaker; the test wants every one to reach the provider.
  server = await startTestServer({ config: { rateLimit: { enabled: false }, gateway: { breaker: { failureThreshold: 1000 } } } });
  token = await mintToken(server, ["gateway:invoke"], "alice");
});
afterAll(async () => {
  await server?.dispose();
  for (const fake of fakes) await fake.close();
});

/** Every run of `WINDOW` characters of `echoed` (all of it when shorter) found in `text`. */
function leakedRuns(text: string, echoed: string): string[] {
  if (echoed.length <= WINDOW) return text.includes(echoed) ? [echoed] : [];
  const runs: string[] = [];
  for (let start = 0; start + WINDOW <= echoed.length; start += 1) {
    const run = echoed.slice(start, start + WINDOW);
    if (text.includes(run)) runs.push(run);
  }
  return runs;
}

/** The header value the gateway sent the fake, as the fake saw it. */
function headerSent(fake: FakeUpstream): string {
  const headers = fake.requests.at(-1)?.headers ?? {};
  for (const name of ["authorization", "x-api-key", "api-key", "x-chroma-token", "x-secret-header"]) {
    const value = headers[name];
    if (typeof value === "string") return value;
  }
  throw new Error("the gateway sent the fake no credential");
}

describe("a provider echoing the credential encoded", () => {
  for (const [index, testCase] of CASES.entries()) {
    it(`${testCase.name}: relayed scrubbed in every encoding, in the answer and in the log`, async () => {
      const fake = await testCase.start();
      fakes.push(fake);
      const id = `hostile-${index}`;
      const created = await server.request("/api/services/register", { method: "POST", json: registration({ id, url: fake.url, ...testCase.record }) });
      expect(created.status, await created.clone().text()).toBe(201);
      try {
        for (const encoding of ECHO_ENCODINGS) {
          fake.scenario = { kind: "echo-credential", encoding: encoding satisfies EchoEncoding, midStream: testCase.midStream };
          const echoesBefore = fake.echoes.length;
          const logsBefore = server.logs.length;
          const response = await testCase.call();
          const body = await response.text();
          const where = `${testCase.name}, ${encoding}`;
          if (testCase.midStream) expect(response.status, where).toBe(200);
          else expect(response.status, `${where}: ${body}`).toBeGreaterThanOrEqual(400);
          // The fake did echo the secret, in this encoding, and the gateway relayed its text, scrubbed.
          const sent = headerSent(fake);
          const echoed = encodeEcho(encoding, SECRET, sent);
          expect(fake.echoes.length, where).toBeGreaterThan(echoesBefore);
          expect(fake.echoes.at(-1), where).toContain(echoed);
          expect(body, `${where}: ${body}`).toContain("[redacted]");
          expect(leakedRuns(body, echoed), `${where}: the answer holds ${body}`).toEqual([]);
          expect(body.includes(SECRET), where).toBe(false);
          // Log lines are JSON: search them as written and with JSON's escapes undone.
          const logs = server.logs.slice(logsBefore).join("\n");
          const logText = `${logs}\n${logs.replace(/\\(.)/g, "$1")}`;
          expect(leakedRuns(logText, echoed), `${where}: the log holds it`).toEqual([]);
          expect(logText.includes(SECRET), where).toBe(false);
        }
      } finally {
        await server.request(`/api/services/${id}`, { method: "DELETE" });
      }
    });
  }
});
