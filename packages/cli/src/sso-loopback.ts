/**
 * @module sso-loopback
 * The loopback address a browser comes back to after a single sign-on (RFC 8252 §7.3): an HTTP listener on
 * 127.0.0.1 on a port the system picks, for one sign-in. It waits for the server's redirect carrying `?code=`
 * (or `?error=`), keeps the browser's request open until the CLI knows how the sign-in ended, and answers it with
 * a small plain page ("you can close this tab"). Only 127.0.0.1 is bound, so nothing outside this machine can
 * reach it; the code alone is useless to another local program without the verifier only this process holds.
 * The query (the code) is never printed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the browser brought: a one-time code, or the error the redirect named. */
export type LoopbackArrival = { code: string } | { error: string; description?: string };

export interface Loopback {
  /** The redirect address to give the server (`http://127.0.0.1:<port>/callback`). */
  redirect: string;
  /** The browser's arrival; rejects when `timeoutMs` passes first. */
  arrival: Promise<LoopbackArrival>;
  /** Answers the waiting browser with a plain page, then stops listening. */
  finish(page: { ok: boolean; text: string }): Promise<void>;
  /** Stops listening (and answers a waiting browser, if any, that the sign-in was abandoned). */
  close(): Promise<void>;
}

export class LoopbackTimeout extends Error {
  override name = "LoopbackTimeout";
}

const CALLBACK_PATH = "/callback";
/** Error values and descriptions shown back are cut short and kept printable. */
const clean = (text: string, max: number) => text.replace(/[^\x20-\x7e]/g, "?").slice(0, max);

function answer(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    // The page is text: never sniffed as HTML, never framed.
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    connection: "close",
  });
  response.end(`${text}\n`);
}

/** Listens on 127.0.0.1 on a free port until the browser arrives or `timeoutMs` passes. */
export async function startLoopback(timeoutMs: number): Promise<Loopback> {
  let waiting: ServerResponse | undefined;
  let settle: { resolve(value: LoopbackArrival): void; reject(error: Error): void } | undefined;
  const arrival = new Promise<LoopbackArrival>((resolve, reject) => (settle = { resolve, reject }));
  // Handled by whoever awaits it; never an unhandled rejection when the caller stops early.
  arrival.catch(() => undefined);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.method !== "GET" || url.pathname !== CALLBACK_PATH) return answer(response, 404, "Not found.");
    if (waiting !== undefined || settle === undefined) return answer(response, 409, "This sign-in has already been answered; you can close this tab.");
    const code = url.searchParams.get("code");
    const error = url.searchParams.get("error");
    if (code !== null && code !== "") {
      waiting = response;
      settle.resolve({ code });
    } else if (error !== null) {
      waiting = response;
      const description = url.searchParams.get("error_description");
      settle.resolve({ error: clean(error, 64), ...(description !== null ? { description: clean(description, 300) } : {}) });
    } else {
      // A stray visit (a prefetch, a reload without the query): not the answer, keep waiting.
      return answer(response, 400, "This address waits for the sign-in to come back with a code.");
    }
    settle = undefined;
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const timer = setTimeout(() => {
    settle?.reject(new LoopbackTimeout(`no answer from the browser within ${Math.round(timeoutMs / 1000)} s`));
    settle = undefined;
  }, timeoutMs);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      clearTimeout(timer);
      settle?.reject(new LoopbackTimeout("the sign-in was abandoned"));
      settle = undefined;
      if (waiting !== undefined && !waiting.headersSent) answer(waiting, 500, "The sign-in was abandoned; see the terminal.");
      server.close(() => resolve());
      // Every answer says `connection: close`; a browser's spare (pre-)connection without a request is not waited for.
      server.closeIdleConnections();
    }));

  return {
    redirect: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    arrival,
    finish: async ({ ok, text }) => {
      if (waiting !== undefined && !waiting.headersSent) {
        const response = waiting;
        await new Promise<void>((resolve) => {
          response.once("finish", resolve);
          response.once("close", resolve);
          answer(response, ok ? 200 : 401, text);
        });
      }
      await close();
    },
    close,
  };
}
