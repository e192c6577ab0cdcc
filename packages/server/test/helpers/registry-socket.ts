/**
 * @module test/helpers/registry-socket
 * A raw `/ws/registry` connection for tests of the change stream: every message parsed and kept in order, a way to
 * send client messages, and a wait for the first message that matches.
 */
import WebSocket from "ws";
import type { ServerStreamMessage } from "@kai/protocol";
import { eventually, type TestServer } from "./test-server.js";

export interface RegistrySocket {
  messages: ServerStreamMessage[];
  socket: WebSocket;
  send(message: Record<string, unknown>): void;
  next(predicate: (m: ServerStreamMessage) => boolean, timeoutMs?: number): Promise<ServerStreamMessage>;
  close(): void;
}

/** Opens the stream with `token` in the Authorization header, or as `?token=` (the browsers' way) with `viaQuery`. */
export async function openRegistrySocket(server: TestServer, token: string, viaQuery = false): Promise<RegistrySocket> {
  const url = server.url.replace("http", "ws") + "/ws/registry" + (viaQuery ? `?token=${encodeURIComponent(token)}` : "");
  const socket = new WebSocket(url, viaQuery ? {} : { headers: { authorization: `Bearer ${token}` } });
  const messages: ServerStreamMessage[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data)) as ServerStreamMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    messages,
    socket,
    send: (message) => socket.send(JSON.stringify(message)),
    next: (predicate, timeoutMs) => eventually(async () => messages.find(predicate), timeoutMs),
    close: () => socket.close(),
  };
}
