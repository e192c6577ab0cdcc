/**
 * @module http/ws/registry-stream
 * `/ws/registry`: hands each authenticated WebSocket to the directory's watch (directory/directory-watch.ts)
 * and carries frames between them; subscriptions, snapshots, resume and backpressure are the watch's.
 */
import type { WebSocket } from "ws";
import type { Principal } from "../../auth/principal.js";
import type { DirectoryWatch, WatchSocket } from "../../directory/directory-watch.js";

/** The watch's view of a `ws` socket: every frame it sends is a text frame, also when given bytes. */
function watchSocketOf(socket: WebSocket): WatchSocket {
  return {
    get readyState() {
      return socket.readyState;
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    sendText: (data) => socket.send(data, { binary: false }),
    ping: () => socket.ping(),
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
  };
}

/** Attaches an authenticated socket to the watch (which may refuse it: too many streams for the token). */
export function attachRegistryStream(watch: DirectoryWatch, socket: WebSocket, principal: Principal): void {
  const connection = watch.attach(watchSocketOf(socket), principal);
  if (!connection) return;
  socket.on("message", (data, isBinary) => connection.message(isBinary ? null : data.toString()));
  socket.on("pong", () => connection.pong());
  socket.on("close", () => connection.closed());
  socket.on("error", () => connection.closed());
}
