/**
 * @module bench/gateway/undici-proxy
 * The floor any Node gateway pays: a minimal pass-through proxy. It reads nothing, checks nothing and
 * routes nowhere; it forwards method, path, body and content headers to one upstream over an undici
 * keep-alive pool and streams the answer back. `node undici-proxy.mjs <port> <upstreamUrl>`.
 */
import { createServer } from "node:http";
import { pipeline } from "node:stream/promises";
import { Pool } from "undici";

const port = Number(process.argv[2] ?? 0);
const upstream = new Pool(process.argv[3], { connections: 128, keepAliveTimeout: 60_000 });

const server = createServer(async (request, response) => {
  try {
    const answer = await upstream.request({
      method: request.method,
      path: request.url,
      headers: { "content-type": request.headers["content-type"] ?? "application/json", authorization: request.headers.authorization ?? "" },
      body: request.method === "GET" ? undefined : request,
    });
    const headers = { "content-type": answer.headers["content-type"] ?? "application/json" };
    if (answer.headers["content-length"]) headers["content-length"] = answer.headers["content-length"];
    response.writeHead(answer.statusCode, headers);
    await pipeline(answer.body, response);
  } catch (error) {
    if (!response.headersSent) response.writeHead(502, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { message: String(error?.message ?? error) } }));
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
