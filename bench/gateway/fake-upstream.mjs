/**
 * @module bench/gateway/fake-upstream
 * The fixed upstream every target of the gateway benchmark calls: an OpenAI-compatible chat completion
 * endpoint that answers at once with a fixed body, or streams `BENCH_STREAM_CHUNKS` SSE chunks. It runs
 * in its own process (`node fake-upstream.mjs <port>`), so its CPU is not charged to the gateway measured.
 * Plain node:http on purpose: the upstream must cost the same for every target and as little as possible.
 */
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 0);
const CHUNKS = Number(process.env.BENCH_STREAM_CHUNKS ?? 50);

const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the fixed upstream." }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});

function chunk(index, content, finish = null) {
  return `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "bench-model",
    choices: [{ index: 0, delta: index === 0 ? { role: "assistant", content } : { content }, finish_reason: finish }],
  })}\n\n`;
}

const server = createServer((request, response) => {
  if (request.method === "GET" && (request.url === "/v1/models" || request.url === "/models")) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ object: "list", data: [{ id: "bench-model", object: "model", owned_by: "bench" }] }));
    return;
  }
  if (request.method !== "POST" || !request.url?.endsWith("/chat/completions")) {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
    return;
  }
  const parts = [];
  request.on("data", (part) => parts.push(part));
  request.on("end", () => {
    let stream = false;
    try {
      stream = JSON.parse(Buffer.concat(parts).toString("utf8")).stream === true;
    } catch {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
      return;
    }
    if (!stream) {
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) });
      response.end(completion);
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // Chunks go out back to back (each its own write, as a token stream would): the bench measures what
    // the gateway adds per chunk, not model speed.
    for (let i = 0; i < CHUNKS; i++) response.write(chunk(i, `tok${i} `));
    response.write(chunk(CHUNKS, "", "stop"));
    response.end("data: [DONE]\n\n");
  });
});

server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
