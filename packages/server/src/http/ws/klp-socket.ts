/**
 * @module http/ws/klp-socket
 * `GET /klp` (WebSocket): envelopes both ways after the four-step handshake (spec §4), which proves the
 * peer's key before anything else is read. After it, every frame is one envelope that runs the acceptance
 * rules with the connection's peer pinned (a frame from another DID is refused), and is answered with one
 * signed envelope on the same socket. No bearer token: the handshake is the authentication.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { WebSocket } from "ws";
import { ErrorBodySchema } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { KlpNode, PushChannel } from "../../klp/klp-node.js";
import { CLOSE_POLICY_VIOLATION, WebSocketTransport } from "../../klp/ws-transport.js";
import type { Logger } from "../../logging/logger.js";

/** Close code 1013 "try again later": too many KLP connections, or the node key is sealed. */
const CLOSE_TRY_AGAIN_LATER = 1013;

/** Pushed bytes a subscriber may leave unread before it is disconnected. */
const MAX_PUSH_BACKLOG_BYTES = 16 * 1024 * 1024;

/** Handles one connection: handshake, then request → reply until either side closes. */
export async function serveKlpSocket(node: KlpNode, socket: WebSocket, logger: Logger): Promise<void> {
  const transport = new WebSocketTransport(socket);
  // Nothing can be signed while the node key is sealed in a locked vault: come back later.
  if (!node.available) {
    await transport.close("node key sealed in the vault", CLOSE_TRY_AGAIN_LATER);
    return;
  }
  const stopWatching = node.onAvailability((available) => {
    if (!available) void transport.close("node key sealed in the vault", CLOSE_TRY_AGAIN_LATER);
  });
  transport.onClose(() => stopWatching());
  let peer: string;
  try {
    peer = (await node.answerHandshake(transport)).peerDid;
  } catch (error) {
    // Tell the peer why (signed, if the key is still there: the vault may have locked meanwhile), then hang
    // up: nothing else is read from an unproven connection.
    if (node.available) await transport.send(JSON.stringify(node.handshakeError(error))).catch(() => undefined);
    await transport.close("handshake failed", node.available ? CLOSE_POLICY_VIOLATION : CLOSE_TRY_AGAIN_LATER);
    return;
  }
  // Federation pushes go out on the same socket; a subscriber that stops reading is cut off (it
  // reconnects and pulls what it missed) rather than growing this process's memory without bound.
  const channel: PushChannel = {
    push: (envelope) => {
      if (transport.closed) return false;
      if (socket.bufferedAmount > MAX_PUSH_BACKLOG_BYTES) {
        void transport.close("too far behind on pushes", CLOSE_POLICY_VIOLATION);
        return false;
      }
      transport.send(JSON.stringify(envelope)).catch(() => undefined);
      return true;
    },
    onClose: (handler) => void transport.onClose(() => handler()),
  };
  // One message at a time per connection, in order: replies go out in the order requests came in.
  let chain = Promise.resolve();
  transport.onMessage((text) => {
    chain = chain
      .then(async () => {
        const outcome = await node.receive(text, { sessionPeer: peer, channel });
        if (!transport.closed) await transport.send(JSON.stringify(outcome.reply));
      })
      .catch((error: unknown) => logger.warn({ err: error }, "KLP socket send failed"));
  });
}


export function klpSocketRoute(node: KlpNode, logger: Logger, maxSockets = 1000): FastifyPluginAsyncZod {
  let open = 0;
  return async (app) => {
    app.route({
      method: "GET",
      url: "/klp",
      config: { bucket: "read" },
      schema: {
        tags: ["klp"],
        summary: "KLP over WebSocket (handshake, then signed envelopes both ways; no token)",
        security: [],
        response: { 426: ErrorBodySchema, 429: ErrorBodySchema },
      },
      handler: () => {
        throw new ApiError("upgrade_required", "this is a WebSocket endpoint: send an Upgrade: websocket request", undefined, { Upgrade: "websocket" });
      },
      wsHandler: (socket) => {
        // Each connection costs a handshake and memory before its peer is proven: cap them.
        if (open >= maxSockets) {
          socket.close(CLOSE_TRY_AGAIN_LATER, "too many KLP connections");
          return;
        }
        open++;
        socket.once("close", () => open--);
        void serveKlpSocket(node, socket, logger);
      },
    });
  };
}
