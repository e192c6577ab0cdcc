/**
 * @module agents/a2a/server/push/push-sender
 * One push notification POSTed to a receiver, as A2A v1.0's push sender does (the SDK's DefaultPushNotificationSender:
 * the StreamResponse as proto JSON, `Content-Type: application/a2a+json`, `Authorization: <scheme> <credentials>`,
 * else the legacy `X-A2A-Notification-Token`), with what it lacks:
 * - the address is checked where the socket connects (push-url.ts `guardedLookup`; an IP literal before the request),
 *   redirects are not followed (node:http never follows them; a 3xx is a failure);
 * - a bounded number of attempts with exponential backoff (and jitter), each under a timeout; a 2xx ends it, a 4xx
 *   other than 408/429 ends it as refused (retrying would only repeat the refusal);
 * - no response body is read beyond draining it, and nothing about the request (URL query, headers, credentials)
 *   reaches a log: the caller logs the receiver's origin and the outcome only.
 * Hand-written on node:http rather than fetch: undici's fetch takes no per-request `lookup`, and the check must
 * judge the address actually connected to.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { StreamResponse } from "@a2a-js/sdk";
import { guardedLookup, isNonPublicAddress, parsePushUrl, PushUrlRefused } from "./push-url.js";

/** A2A's media type for its JSON payloads (the SDK's A2A_CONTENT_TYPE). */
export const A2A_PUSH_CONTENT_TYPE = "application/a2a+json";

export interface PushTarget {
  url: string;
  /** `Authorization: <scheme> <credentials>` when both are given. */
  scheme?: string | undefined;
  credentials?: string | undefined;
  /** The legacy token header, when there is no authentication. */
  token?: string | undefined;
}

export interface PushSendOptions {
  allowPrivate: boolean;
  /** Attempts in all (≥ 1). */
  attempts: number;
  /** The first retry's delay; doubled each time, capped at 60 s. */
  backoffMs: number;
  timeoutMs: number;
  /** Stops retrying (the job stopping, the config deleted). */
  signal?: AbortSignal;
}

export type PushOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; reason: string };

/** The body a receiver gets: the stream response as A2A's proto JSON, as the SDK's V1 serializer writes it. */
export function pushBody(response: StreamResponse): string {
  return JSON.stringify(StreamResponse.toJSON(response));
}

function headersOf(target: PushTarget, body: string): Record<string, string> {
  const headers: Record<string, string> = { "content-type": A2A_PUSH_CONTENT_TYPE, "content-length": String(Buffer.byteLength(body)), "user-agent": "kai-a2a-push" };
  if (target.scheme && target.credentials) headers.authorization = `${target.scheme} ${target.credentials}`;
  else if (target.token) headers["x-a2a-notification-token"] = target.token;
  return headers;
}

/** One POST; resolves with the status, rejects on a refused address, a network error or the timeout. */
function postOnce(target: PushTarget, body: string, options: PushSendOptions): Promise<number> {
  const url = parsePushUrl(target.url);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // An IP literal is connected to without a lookup: judge it here.
  if (isIP(host) && !options.allowPrivate && isNonPublicAddress(host)) return Promise.reject(new PushUrlRefused("the push url's address is not public"));
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const request = send(url, { method: "POST", headers: headersOf(target, body), lookup: guardedLookup(options.allowPrivate), timeout: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }, (response: IncomingMessage) => {
      // Drain (bounded by the timeout) so the socket is freed; the body says nothing we use.
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
      response.once("error", reject);
    });
    request.once("timeout", () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.once("error", reject);
    request.end(body);
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** A short, safe reason: never the URL or a header. */
function reasonOf(error: unknown): string {
  if (error instanceof PushUrlRefused) return error.message;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code === "ERR_PUSH_ADDRESS" ? "the receiver's address is not public" : code;
  return error instanceof Error ? error.message.slice(0, 200) : "unknown error";
}

/** POSTs `response` to `target`, retrying as the options say. Never throws. */
export async function sendPush(target: PushTarget, response: StreamResponse, options: PushSendOptions): Promise<PushOutcome> {
  const body = pushBody(response);
  let reason = "not sent";
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (options.signal?.aborted) return { ok: false, attempts: attempt - 1, reason: "stopped" };
    try {
      const status = await postOnce(target, body, options);
      if (status >= 200 && status < 300) return { ok: true, attempts: attempt };
      reason = `HTTP ${status}`;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { ok: false, attempts: attempt, reason };
    } catch (error) {
      reason = reasonOf(error);
      // A refused address stays refused: no retry.
      if (error instanceof PushUrlRefused || (error as { code?: unknown }).code === "ERR_PUSH_ADDRESS") return { ok: false, attempts: attempt, reason };
    }
    if (attempt < options.attempts) {
      const delay = Math.min(options.backoffMs * 2 ** (attempt - 1), 60_000);
      await sleep(delay / 2 + Math.random() * (delay / 2), options.signal);
    }
  }
  return { ok: false, attempts: options.attempts, reason };
}
