/**
 * @module test/http/support/raw-http
 * HTTP over a raw TCP socket, for what an HTTP client library will not do: send headers and then a byte, announce
 * 1 GiB and push bytes until the server shuts the door, and see exactly what the server wrote and when it closed.
 */
import { connect, type Socket } from "node:net";
import { ErrorBodySchema } from "@kai/protocol";

/** A connected socket to `baseUrl` (errors after connecting are the caller's to observe). */
export function openSocket(baseUrl: string): Promise<Socket> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A request head (request line, `host`, the given headers, blank line). */
export function requestHead(method: string, path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries({ host: "localhost", ...headers }).map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

export interface Observed {
  /** Everything the server sent. */
  text: string;
  /** Milliseconds from our write until the server closed the connection; undefined if it did not within the wait. */
  closedAfterMs?: number;
}

/** Writes `bytes`, then only listens: what the server answers, and when (whether) it closes within `waitMs`. */
export async function sendAndListen(baseUrl: string, bytes: string, waitMs: number): Promise<Observed> {
  const socket = await openSocket(baseUrl);
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => undefined);
  const sent = Date.now();
  socket.write(bytes);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  return { text: Buffer.concat(chunks).toString("utf8"), ...(closed ? { closedAfterMs: Date.now() - sent } : {}) };
}

export interface Flooded {
  /** Body bytes the connection took (handed to the kernel) before the server's close made writing fail. */
  accepted: number;
  /** Everything the server sent. */
  text: string;
  /** The server ended the connection; false when we stopped writing (limit or time) with the door still open. */
  refused: boolean;
}

/**
 * Writes `head`, then body bytes (`fill`, 64 KiB at a time) as fast as the connection takes them, until the server
 * ends the connection, `limit` bytes are written, or 15 s pass.
 */
export async function flood(baseUrl: string, head: string, limit: number, fill = "x"): Promise<Flooded> {
  const socket = await openSocket(baseUrl);
  const chunks: Buffer[] = [];
  let failed = false;
  let wake: (() => void) | undefined;
  const fail = () => {
    failed = true;
    wake?.();
  };
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", fail);
  socket.on("close", fail);
  // The server ending its side (FIN) is a refusal too: nothing written after it will be read.
  socket.on("end", fail);
  socket.write(head);
  const block = Buffer.alloc(64 * 1024, fill);
  const deadline = Date.now() + 15_000;
  let accepted = 0;
  let written = 0;
  while (!failed && written < limit && Date.now() < deadline) {
    written += block.length;
    const more = socket.write(block, (error) => {
      if (!error) accepted += block.length;
    });
    if (!more) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        socket.once("drain", resolve);
      });
      wake = undefined;
    }
  }
  // Let the answer (already on its way) arrive.
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
  return { accepted, text: Buffer.concat(chunks).toString("utf8"), refused: failed };
}

/** The error code in a raw HTTP answer's body (which must be our error body). */
export function errorCodeOf(text: string): string {
  const body = text.slice(text.indexOf("\r\n\r\n") + 4);
  return ErrorBodySchema.parse(JSON.parse(body)).error.code;
}
