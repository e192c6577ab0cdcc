/**
 * @module bench/gateway/otlp-sink
 * `node otlp-sink.mjs <port>`: the collector end of the tracing runs of the gateway benchmark. Accepts OTLP/HTTP
 * trace exports (`POST /v1/traces`), drains them and answers 200 with an empty export response, counting the spans'
 * bytes; prints `{"port":N}` once listening. Its own process, so that receiving spans costs neither the node nor the
 * load generator.
 */
import { createServer } from "node:http";

let exports = 0;
let bytes = 0;
const server = createServer((request, response) => {
  if (request.method !== "POST" || !request.url?.startsWith("/v1/traces")) {
    response.writeHead(404).end();
    return;
  }
  request.on("data", (chunk) => (bytes += chunk.length));
  request.on("end", () => {
    exports++;
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => {
  process.stderr.write(`otlp sink: ${exports} exports, ${bytes} bytes\n`);
  server.close(() => process.exit(0));
});
