/**
 * @module bench/registry/ws-broadcast-server
 * The fan-out floor (issue 19): the least a Node process can do to deliver one event to N WebSocket subscribers,
 * i.e. what is left when the registry is taken away. A bare `ws` server speaking just enough of /ws/registry for
 * the fan-out bench's subscribers (a `subscribe` answered by an empty `snapshot`), and
 * `POST /api/services/register`, which sends the same `event` message our server would (the posted record, encoded
 * once, one Buffer for every socket), then answers 201 — the order our server follows. Run as a child process by
 * ws-broadcast-floor.mjs; prints `listening <port>` when ready.
 */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const sockets = new Set();
let revision = 0;

const server = createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/api/services/register") {
    response.writeHead(404).end();
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const service = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    revision++;
    const encoded = Buffer.from(JSON.stringify({ type: "event", event: "registered", revision, serviceId: service.id, service: { ...service, revision } }));
    for (const socket of sockets) socket.send(encoded, { binary: false });
    response.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id: service.id, revision }));
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (socket) => {
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString());
    if (message.type !== "subscribe") return;
    sockets.add(socket);
    socket.send(JSON.stringify({ type: "snapshot", revision, reason: "subscribed", services: [] }));
  });
  socket.on("close", () => sockets.delete(socket));
});

server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
process.on("SIGTERM", () => process.exit(0));
