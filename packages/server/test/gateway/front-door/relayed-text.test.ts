// The provider's own JSON travels to the client as it was written (RouteResult.text for a whole answer,
// RoutedStream.lastChunk for each streamed chunk): an OpenAI-compatible upstream with its own key order, spacing and
// unknown keys is answered byte for byte, and a text that validation changes (a usage without completion_tokens) is
// serialised from the validated value instead. A real server and a real upstream socket.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";

const MODEL = "relay-model";
// Keys out of OpenAI's order, a space after each colon, and a key no schema of ours knows.
const COMPLETION =
  '{"model": "relay-model", "id": "cmpl-1", "object": "chat.completion", "created": 7, "x_vendor": {"a": [1, 2]}, ' +
  '"choices": [{"finish_reason": "stop", "index": 0, "message": {"content": "hi there", "role": "assistant"}}], ' +
  '"usage": {"total_tokens": 3, "prompt_tokens": 1, "completion_tokens": 2}}';
const CHUNKS = [
  '{"model": "relay-model", "id": "c-1", "object": "chat.completion.chunk", "created": 7, "choices": [{"delta": {"content": "hi"}, "index": 0, "finish_reason": null}], "x_vendor": true}',
  '{"model": "relay-model", "id": "c-1", "object": "chat.completion.chunk", "created": 7, "choices": [{"delta": {}, "index": 0, "finish_reason": "stop"}]}',
  // Validation fills in completion_tokens: this one must be serialised, not relayed.
  '{"model": "relay-model", "id": "c-1", "object": "chat.completion.chunk", "created": 7, "choices": [], "usage": {"prompt_tokens": 1, "total_tokens": 1}}',
];

let upstream: Server;
let server: TestServer;
let token: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      if (req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created: 1, owned_by: "x" }] }));
        return;
      }
      if ((JSON.parse(body) as { stream?: boolean }).stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(CHUNKS.map((chunk) => `data: ${chunk}\n\n`).join("") + "data: [DONE]\n\n");
      } else res.writeHead(200, { "content-type": "application/json" }).end(COMPLETION);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  server = await startTestServer({ config: { rateLimit: { enabled: false }, vault: { pbkdf2Iterations: 10_000 } } });
  const registered = await server.request("/api/services/register", { method: "POST", json: registration({ id: "relay", provider: "openai-compatible", url, metadata: { models: [MODEL] } }) });
  expect(registered.status, await registered.clone().text()).toBeLessThan(300);
  token = await mintToken(server, ["gateway:invoke", "services:read"], "alice");
});
afterAll(async () => {
  await server?.dispose();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

const chat = (stream: boolean) =>
  server.request("/v1/chat/completions", { method: "POST", token, json: { model: MODEL, messages: [{ role: "user", content: "hi" }], stream, stream_options: stream ? { include_usage: true } : undefined } });

describe("relaying the provider's own JSON", () => {
  it("answers a chat completion with the provider's bytes", async () => {
    const response = await chat(false);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-kai-service")).toBe("relay");
    expect(await response.text()).toBe(COMPLETION);
  });

  it("streams each chunk as the provider wrote it, and serialises the one validation completed", async () => {
    const response = await chat(true);
    expect(response.status).toBe(200);
    const frames = (await response.text()).split("\n\n").filter(Boolean);
    expect(frames.slice(0, 2)).toEqual([`data: ${CHUNKS[0]}`, `data: ${CHUNKS[1]}`]);
    const usage = JSON.parse(frames[2]!.slice("data: ".length)) as { usage: Record<string, number> };
    expect(frames[2]).not.toBe(`data: ${CHUNKS[2]}`);
    expect(usage.usage).toEqual({ prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 });
    expect(frames.at(-1)).toBe("data: [DONE]");
  });
});
