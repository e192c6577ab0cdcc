/**
 * @module http/body-guard
 * What a request body may cost the server before it is refused, beyond the byte limit the body parsers enforce.
 *
 * Time: a request's headers must arrive within `server.requestTimeoutMs` (at most 60 s: Node's `headersTimeout`),
 * and its body within `server.requestTimeoutMs` of the headers (the deadline set here, per request), also on routes
 * that need no token: a socket that sent its headers and one byte of a body is not held for ever. Only a request
 * still arriving is timed: once the body is in, a slow handler, a long SSE stream or an upgraded WebSocket is not
 * cut. A request that is too slow gets 408 `request_timeout` in our error body (when nothing of an answer was sent
 * yet) and its socket closed.
 *
 * Streamed uploads: a route with `config.streamedBody` (an artifact upload) takes bodies far larger than a JSON
 * request, which a fixed bound from the headers would cut (1 GiB needs more than 30 s at 30 MB/s). Once such a
 * request has been authenticated and authorised, its bound is one of progress instead: it is cut only when no byte
 * arrived for `server.requestTimeoutMs`. Unauthenticated bodies never get that: they keep the fixed bound.
 * Node's own `requestTimeout` is one bound for the whole server, hence this deadline of ours (Node's is off).
 *
 * Bytes after a refusal: when the server answers before the body has arrived (401 in the auth hook, 415 for a
 * content type with no parser, 429, …), Node would read the rest of the body and throw it away to keep the
 * connection alive: a refused 1 GiB upload read to its end. Such answers say `Connection: close` instead, so Node
 * closes the socket as soon as the answer is flushed. (Fastify does this itself for errors while a body is parsed,
 * such as 413.) A refused body that has already arrived whole keeps its keep-alive connection.
 */
import { STATUS_CODES } from "node:http";
import type { IncomingMessage, ServerOptions } from "node:http";
import type { Socket } from "node:net";
import type { ConnectionError, FastifyInstance, FastifyRequest } from "fastify";
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "@kai/protocol";

export interface BodyGuardSettings {
  /** `server.requestTimeoutMs`. */
  requestTimeoutMs: number;
}

/** The Fastify options that bound request time: Node's timeouts, and our answer when one strikes. */
export function bodyGuardOptions(settings: BodyGuardSettings): {
  requestTimeout: number;
  http: ServerOptions;
  clientErrorHandler: (this: FastifyInstance, error: ConnectionError, socket: Socket) => void;
} {
  const timeout = settings.requestTimeoutMs;
  return {
    // Bodies are timed per request by installBodyGuard (a streamed upload needs a rule of its own).
    requestTimeout: 0,
    http: {
      requestTimeout: 0,
      // Node's default header bound (60 s) is longer than a small request bound; it must not be.
      headersTimeout: Math.min(60_000, timeout),
      // Node looks for late requests only this often (default 30 s, which would double a 30 s bound): a pass
      // walks the requests still arriving, which is cheap, so a tenth of the bound, between 50 ms and 1 s.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(timeout / 10))),
    },
    clientErrorHandler: answerClientError,
  };
}

/**
 * Node's `clientError`: a request that did not arrive in time, or bytes that are not HTTP. Answered in our error
 * body (there is no request id: no request was ever formed), then the socket is destroyed. When an answer to the
 * request is already on its way (headers sent), nothing more can be written: the socket is only closed.
 */
function answerClientError(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
  if (timedOut) this.log.info({ code: "request_timeout" }, "a request did not arrive within server.requestTimeoutMs: connection closed");
  closeWithError(socket, timedOut, error.code);
}

/** Writes our error body straight to the socket (unless an answer is already on its way), then destroys it. */
function closeWithError(socket: Socket, timedOut: boolean, errorCode?: string): void {
  const code: ErrorCode = timedOut ? "request_timeout" : "validation_failed";
  const message = timedOut
    ? "the request did not arrive in time (server.requestTimeoutMs)"
    : errorCode === "HPE_HEADER_OVERFLOW"
      ? "request headers are too large"
      : "malformed HTTP request";
  // Node's own handler makes the same check: the in-flight response of this socket, if its headers went out.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    const status = ERROR_STATUS[code];
    const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** True while the request has a body that has not arrived whole yet. */
function bodyStillArriving(request: IncomingMessage): boolean {
  if (request.complete) return false;
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Times every request whose body is still arriving (see the module header): 408 once `timeoutMs` passed since its
 * headers, or, for an authorised `streamedBody` route, once no byte came for `timeoutMs`. The socket's byte count
 * measures progress, so the body stream is never touched (a listener on it would start it flowing).
 */
function watchBodyArrival(app: FastifyInstance, request: FastifyRequest, timeoutMs: number): void {
  const raw = request.raw;
  const socket = raw.socket;
  let bytesSeen = socket.bytesRead;
  let timer: NodeJS.Timeout;
  const check = () => {
    if (!bodyStillArriving(raw) || socket.destroyed) return;
    const streamed = request.routeOptions.config.streamedBody === true && request.principal !== undefined;
    if (streamed && socket.bytesRead > bytesSeen) {
      bytesSeen = socket.bytesRead;
      timer = setTimeout(check, timeoutMs).unref();
      return;
    }
    app.log.info({ code: "request_timeout" }, "a request did not arrive within server.requestTimeoutMs: connection closed");
    closeWithError(socket, true);
  };
  timer = setTimeout(check, timeoutMs).unref();
  const stop = () => clearTimeout(timer);
  raw.once("end", stop);
  raw.once("close", stop);
}

/**
 * Bounds the time a body may take to arrive, and makes answers sent before the body arrived close their
 * connection instead of reading the rest of the body.
 */
export function installBodyGuard(app: FastifyInstance, settings: BodyGuardSettings): void {
  app.addHook("onRequest", (request, _reply, done) => {
    if (bodyStillArriving(request.raw)) watchBodyArrival(app, request, settings.requestTimeoutMs);
    done();
  });
  app.addHook("onSend", (request, reply, payload, done) => {
    if (!bodyStillArriving(request.raw)) return done(null, payload);
    // A refusal made at once (a missing token) is sent while Node's parser is still inside the chunk that held the
    // headers, and often the whole small body: look again once that chunk is parsed, before closing for nothing.
    // (Not nextTick: Node runs those when the headers callback returns, before the parser reaches the body.)
    setImmediate(() => {
      if (bodyStillArriving(request.raw)) reply.header("connection", "close");
      done(null, payload);
    });
  });
}
