/**
 * @module test/gateway/connector-contract
 * The contract every connector must pass against its fake upstream, run over real sockets. A connector's
 * test file calls `describeConnectorContract` once; adding a provider means adding a fake and that call.
 *
 * The parts every connector shares — health, error mapping (429 with Retry-After, 5xx, timeouts), the
 * credential only in the auth header and never in errors or logs, cancellation — run against a `probe`: one
 * representative call of the connector (chat for LLMs, a transcription, a collection listing, …). The chat
 * and streaming parts run only for connectors that list those operations.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { IncomingHttpHeaders } from "node:http";
import type { ChatCompletionChunk, ErrorCode } from "@kai/protocol";
import { OPERATION_METHODS, type CallContext, type Connector, type ConnectorLogger, type ConnectorOperation } from "../../src/gateway/connector.js";
import { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";
import { ANSWER, PROMPT_TOKENS, TOKENS, type FakeUpstream } from "./fakes/fake-server.js";

export interface ContractSubject {
  readonly connector: Connector;
  /** Starts the provider's fake, which demands `credential` when given. */
  start(credential: string): Promise<FakeUpstream>;
  /** Models the fake lists (empty for providers without models). */
  readonly expectedModels: readonly string[];
  /** Asserts the credential travelled in the provider's header(s). */
  checkAuth(headers: IncomingHttpHeaders, credential: string): void;
  /** Chat connectors: a model the fake serves. */
  readonly model?: string;
  /** Chat connectors: path the fake receives chat calls on. */
  readonly chatPath?: string;
  /** Chat connectors: whether the provider reports usage at the end of a stream (with this connector's settings). */
  readonly streamUsage?: boolean;
  /**
   * The representative non-streaming call the shared checks use; it must send the credential. `path` is
   * where the fake receives its (first) request. Defaults to a chat call on `chatPath`.
   */
  readonly probe?: { readonly path: string; call(context: CallContext): Promise<{ latencyMs: number }> };
  /** A call naming something the provider lacks, and its code. Defaults to chat with `missing-model` → `model_not_found`. */
  readonly notFound?: { call(context: CallContext): Promise<unknown>; readonly code: ErrorCode };
  /** Other forms of the credential that must not leak either (e.g. its base64 for Basic auth). */
  secretForms?(credential: string): string[];
}

const CREDENTIAL = "sk-test-SECRET-0123456789abcdef";
const WRONG = "sk-wrong-SECRET-9876543210fedcba";
const EXPECTED_USAGE = { prompt_tokens: PROMPT_TOKENS, completion_tokens: TOKENS.length, total_tokens: PROMPT_TOKENS + TOKENS.length };
const messages = [{ role: "system" as const, content: "Be brief." }, { role: "user" as const, content: "Say hello" }];

/** A logger that keeps every line as text, to prove the credential never appears in one. */
function recordingLogger(): ConnectorLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (fields, message) => void lines.push(JSON.stringify({ ...fields, message })),
    warn: (fields, message) => void lines.push(JSON.stringify({ ...fields, message })),
  };
}

async function caught(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }
  throw new Error("expected the call to fail");
}

async function collect(iterable: AsyncIterable<ChatCompletionChunk>, into: ChatCompletionChunk[] = []): Promise<ChatCompletionChunk[]> {
  for await (const chunk of iterable) into.push(chunk);
  return into;
}

export function describeConnectorContract(name: string, subject: ContractSubject): void {
  const { connector } = subject;
  const hasChat = connector.operations.has("chat");
  const hasStream = connector.operations.has("chat_stream");
  if ((hasChat || hasStream) && (!subject.model || !subject.chatPath || subject.streamUsage === undefined)) {
    throw new Error(`${name}: a chat connector's contract needs model, chatPath and streamUsage`);
  }
  if (!hasChat && !subject.probe) throw new Error(`${name}: a connector without chat needs a probe call`);
  const model = subject.model ?? "";
  const chatPath = subject.chatPath ?? "";
  const probe = subject.probe ?? { path: chatPath, call: (context: CallContext) => connector.chat!(chat(), context) };
  const notFound = subject.notFound ?? (hasChat ? { call: (context: CallContext) => connector.chat!({ ...chat(), model: "missing-model" }, context), code: "model_not_found" as const } : undefined);
  function chat() {
    return { model, messages };
  }
  // The stream variant of a check runs only where the connector streams.
  const streamCalls = (context: () => CallContext) => (hasStream ? [connector.chatStream!(chat(), context())] : []);

  describe(`connector contract: ${name}`, () => {
    let fake: FakeUpstream;
    let logger: ReturnType<typeof recordingLogger>;
    const ctx = (overrides: Partial<CallContext> = {}): CallContext => ({
      target: { baseUrl: fake.url, credential: CREDENTIAL },
      logger,
      requestId: "req-contract-1",
      ...overrides,
    });

    beforeAll(async () => {
      fake = await subject.start(CREDENTIAL);
    });
    afterAll(async () => {
      await fake.close();
    });
    beforeEach(() => {
      fake.scenario = { kind: "ok" };
      logger = recordingLogger();
    });

    it("is registered with exactly the operations it implements", () => {
      const methods = connector as unknown as Record<string, unknown>;
      for (const [operation, names] of Object.entries(OPERATION_METHODS) as [ConnectorOperation, readonly string[]][]) {
        // Listed ⇒ every method of the operation exists; not listed ⇒ none does (so a defined method means it works).
        for (const method of names) expect(typeof methods[method], `${operation} → ${method}`).toBe(connector.operations.has(operation) ? "function" : "undefined");
      }
      expect(typeof connector.listModels).toBe("function");
      expect(typeof connector.health).toBe("function");
    });

    it("answers the probe call, forwards the request id and reports latency", async () => {
      const result = await probe.call(ctx());
      expect(result.latencyMs).toBeGreaterThan(0);
      expect(fake.last(probe.path)?.headers["x-request-id"]).toBe("req-contract-1");
    });

    if (hasChat) it("answers a non-streaming chat in OpenAI shape with usage and latency", async () => {
      const result = await connector.chat!(chat(), ctx());
      expect(result.data.object).toBe("chat.completion");
      expect(result.data.choices[0]?.message.content).toBe(ANSWER);
      expect(result.data.choices[0]?.finish_reason).toBe("stop");
      expect(result.usage).toMatchObject(EXPECTED_USAGE);
      expect(result.latencyMs).toBeGreaterThan(0);
      const sent = fake.last(chatPath);
      expect(sent?.headers["x-request-id"]).toBe("req-contract-1");
      expect((sent?.body as { model?: string }).model).toBe(model);
    });

    if (hasStream) it("streams chunks in order, ending with a finish reason (and usage where the provider gives it)", async () => {
      const stream = await connector.chatStream!(chat(), ctx());
      expect(stream.headersLatencyMs).toBeGreaterThan(0);
      const chunks = await collect(stream);
      expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
      const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
      expect(text).toBe(ANSWER);
      const contentChunks = chunks.map((chunk) => chunk.choices[0]?.delta.content).filter((content): content is string => !!content);
      expect(contentChunks).toEqual(TOKENS);
      expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
      expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === "stop")).toBe(true);
      if (subject.streamUsage) expect(stream.usage()).toMatchObject(EXPECTED_USAGE);
      else expect(stream.usage()).toBeUndefined();
    });

    if (hasStream) it("sends usage to the caller only when stream_options.include_usage asks, as OpenAI does", async () => {
      // Not asked: no usage field and no `choices: []` chunk (clients read choices[0] of every chunk).
      const plain = await collect(await connector.chatStream!(chat(), ctx()));
      for (const chunk of plain) {
        expect(chunk.choices.length).toBeGreaterThan(0);
        expect(chunk.usage ?? null).toBeNull();
      }
      // Asked: one closing chunk with `choices: []` and the usage; none before it.
      const asked = await connector.chatStream!({ ...chat(), stream_options: { include_usage: true } }, ctx());
      const chunks = await collect(asked);
      expect(chunks.at(-1)?.choices).toEqual([]);
      expect(chunks.at(-1)?.usage).toMatchObject(EXPECTED_USAGE);
      for (const chunk of chunks.slice(0, -1)) expect(chunk.usage ?? null).toBeNull();
      expect(asked.usage()).toMatchObject(EXPECTED_USAGE);
    });

    it("adds no error when the upstream is slow but within the timeout, and reports the latency", async () => {
      fake.scenario = { kind: "ok", latencyMs: 120 };
      const result = await probe.call(ctx({ timeoutMs: 2_000 }));
      expect(result.latencyMs).toBeGreaterThanOrEqual(100);
    });

    it("times out a stalled upstream with upstream_timeout and closes the connection", async () => {
      fake.scenario = { kind: "stall" };
      const closes = fake.earlyCloses;
      const error = await caught(probe.call(ctx({ timeoutMs: 200 })));
      expect(error.code).toBe("upstream_timeout");
      expect(error.status).toBe(504);
      await fake.waitForEarlyClose(closes);
      for (const call of streamCalls(() => ctx({ timeoutMs: 200 }))) expect((await caught(call)).code).toBe("upstream_timeout");
    });

    if (hasStream) it("turns a stream that stalls after the first byte into upstream_timeout, not a clean end", async () => {
      fake.scenario = { kind: "stall-mid-stream" };
      const stream = await connector.chatStream!(chat(), ctx({ idleTimeoutMs: 200 }));
      const chunks: ChatCompletionChunk[] = [];
      const error = await caught(collect(stream, chunks));
      expect(chunks.length).toBeGreaterThan(0);
      expect(error.code).toBe("upstream_timeout");
    });

    if (hasStream) it("surfaces a connection cut mid-stream as upstream_stream_broken", async () => {
      fake.scenario = { kind: "fail-mid-stream" };
      const stream = await connector.chatStream!(chat(), ctx());
      const chunks: ChatCompletionChunk[] = [];
      const error = await caught(collect(stream, chunks));
      expect(chunks.length).toBeGreaterThan(0);
      expect(error.code).toBe("upstream_stream_broken");
      expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false);
    });

    if (hasStream) it("surfaces the provider's in-band stream error as upstream_stream_broken", async () => {
      fake.scenario = { kind: "error-mid-stream" };
      const stream = await connector.chatStream!(chat(), ctx());
      const error = await caught(collect(stream));
      expect(error.code).toBe("upstream_stream_broken");
      expect(error.message).toContain("upstream overloaded");
    });

    it("maps 429 to upstream_rate_limited carrying Retry-After, for plain and streaming calls", async () => {
      fake.scenario = { kind: "status", status: 429, retryAfter: "7" };
      for (const call of [probe.call(ctx()), ...streamCalls(() => ctx())]) {
        const error = await caught(call);
        expect(error.code).toBe("upstream_rate_limited");
        expect(error.status).toBe(429);
        expect(error.retryAfterSeconds).toBe(7);
        expect(error.headers?.["Retry-After"]).toBe("7");
        expect(error.retryable).toBe(true);
      }
    });

    it("maps 5xx to upstream_error (502) with the upstream status", async () => {
      fake.scenario = { kind: "status", status: 503, message: "backend down" };
      const error = await caught(probe.call(ctx()));
      expect(error.code).toBe("upstream_error");
      expect(error.status).toBe(502);
      expect(error.upstreamStatus).toBe(503);
      expect(error.message).toContain("backend down");
    });

    if (notFound) it(`maps an unknown model or resource to ${notFound.code}`, async () => {
      const error = await caught(notFound.call(ctx()));
      expect(error.code).toBe(notFound.code);
      expect(error.status).toBe(404);
      expect(error.retryable).toBe(false);
    });

    if (hasStream) it("cancels the upstream request when the caller aborts mid-stream (the fake sees the close)", async () => {
      fake.scenario = { kind: "stall-mid-stream" };
      const closes = fake.earlyCloses;
      const controller = new AbortController();
      const stream = await connector.chatStream!(chat(), ctx({ signal: controller.signal }));
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      controller.abort();
      // Frames that arrived in the same read as the first may still come out; the wait for more must fail.
      const drain = async () => {
        for (let frames = 0; frames < 10; frames++) {
          const next = await iterator.next();
          if (next.done) return;
        }
      };
      const error = await caught(drain());
      expect(error.code).toBe("request_cancelled");
      await fake.waitForEarlyClose(closes);
    });

    it("cancels before the headers arrived too", async () => {
      fake.scenario = { kind: "stall" };
      const closes = fake.earlyCloses;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const call = hasStream ? connector.chatStream!(chat(), ctx({ signal: controller.signal })) : probe.call(ctx({ signal: controller.signal }));
      const error = await caught(call);
      expect(error.code).toBe("request_cancelled");
      await fake.waitForEarlyClose(closes);
    });

    if (hasStream) it("closes the upstream when the consumer stops iterating early", async () => {
      fake.scenario = { kind: "stall-mid-stream" };
      const closes = fake.earlyCloses;
      const stream = await connector.chatStream!(chat(), ctx());
      for await (const _chunk of stream) break;
      await fake.waitForEarlyClose(closes);
    });

    it("injects the credential in the provider's header and never leaks it into errors or logs", async () => {
      await probe.call(ctx());
      subject.checkAuth(fake.last(probe.path)!.headers, CREDENTIAL);
      const leaks = ["SECRET", WRONG, ...(subject.secretForms?.(WRONG) ?? []), ...(subject.secretForms?.(CREDENTIAL) ?? [])];
      // A wrong key: the fake echoes it back in its error body, as real providers do.
      const wrong = () => ctx({ target: { baseUrl: fake.url, credential: WRONG } });
      const error = await caught(probe.call(wrong()));
      expect(error.code).toBe("upstream_auth_failed");
      for (const leak of leaks) expect(error.message).not.toContain(leak);
      for (const call of streamCalls(wrong)) {
        const streamError = await caught(call);
        for (const leak of leaks) expect(streamError.message).not.toContain(leak);
      }
      // Exercise the failure paths once more so the logger sees them, then check every line.
      fake.scenario = { kind: "status", status: 500 };
      await caught(probe.call(ctx()));
      expect(logger.lines.length).toBeGreaterThan(0);
      for (const line of logger.lines) for (const leak of leaks) expect(line).not.toContain(leak);
    });

    it("lists the provider's models", async () => {
      const models = await connector.listModels(ctx());
      if (subject.expectedModels.length === 0) expect(models).toEqual([]);
      else expect(models.map((entry) => entry.id)).toEqual(expect.arrayContaining([...subject.expectedModels]));
    });

    if (connector.operations.has("embeddings")) {
      it("computes embeddings in OpenAI shape", async () => {
        const result = await connector.embeddings!({ model, input: ["a", "b"] }, ctx());
        expect(result.data.object).toBe("list");
        expect(result.data.data).toHaveLength(2);
        expect(result.data.data[1]).toMatchObject({ object: "embedding", index: 1, embedding: [0.1, 0.2, 0.3] });
        expect(result.usage?.prompt_tokens).toBe(3);
      });

      it("answers embeddings in the encoding_format asked for (float, or base64 of little-endian float32)", async () => {
        const floats = await connector.embeddings!({ model, input: "a", encoding_format: "float" }, ctx());
        expect(floats.data.data[0]?.embedding).toEqual([0.1, 0.2, 0.3]);
        const base64 = await connector.embeddings!({ model, input: ["a", "b"], encoding_format: "base64" }, ctx());
        for (const entry of base64.data.data) {
          expect(typeof entry.embedding).toBe("string");
          const bytes = Buffer.from(entry.embedding as string, "base64");
          expect(bytes.length).toBe(12);
          [0.1, 0.2, 0.3].forEach((value, index) => expect(bytes.readFloatLE(index * 4)).toBeCloseTo(value, 6));
        }
      });
    } else {
      it("declares no embeddings and has no embeddings method", () => {
        expect(connector.embeddings).toBeUndefined();
      });
    }

    it("probes health: ok when up, a coded failure when down", async () => {
      const up = await connector.health(ctx());
      expect(up.ok).toBe(true);
      expect(up.latencyMs).toBeGreaterThan(0);
      fake.scenario = { kind: "status", status: 503 };
      const degraded = await connector.health(ctx());
      expect(degraded).toMatchObject({ ok: false, code: "upstream_error" });
      const down = await connector.health(ctx({ target: { baseUrl: "http://127.0.0.1:1", credential: CREDENTIAL } }));
      expect(down).toMatchObject({ ok: false, code: "upstream_unreachable" });
      expect(down.message).not.toContain("SECRET");
    });
  });
}
