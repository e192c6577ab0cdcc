/**
 * @module gateway/connectors/support
 * Small helpers the non-LLM connectors share (image, vector, workflow, audio): auth header builders, the
 * remapping of "no such thing" / "already exists" answers to their own codes, extra credential redaction,
 * and an abortable pause for connectors that poll. Kept out of `upstream-http.ts` because LLM connectors
 * must keep treating a 404 as a (retryable) upstream error: for them it means a misconfigured server.
 */
import { ERROR_TRAITS, fieldErrorsFromZod, type ErrorCode, type ErrorTraits } from "@kai/protocol";
import type { z } from "zod";
import type { UpstreamTarget } from "../connector.js";
import { ApiError } from "../../errors.js";
import { scrubCredential } from "../upstream/credential-forms.js";
import { UpstreamError } from "../upstream/upstream-error.js";

/** `Authorization: Bearer <credential>` when there is one (servers without auth of their own sit behind a proxy). */
export function bearerAuth(target: UpstreamTarget): Record<string, string> {
  return target.credential ? { authorization: `Bearer ${target.credential}` } : {};
}

/** The credential in a header of the provider's choosing (`api-key`, `X-N8N-API-KEY`, `x-chroma-token`). */
export function headerAuth(name: string, target: UpstreamTarget): Record<string, string> {
  return target.credential ? { [name]: target.credential } : {};
}

/** Provider status → the code that says it is about the caller's named thing (`ERROR_TABLE`'s `resourceStatus`). */
const RESOURCE_CODES: ReadonlyMap<number, ErrorCode> = new Map(
  (Object.entries(ERROR_TRAITS) as [ErrorCode, ErrorTraits][]).flatMap(([code, traits]) => (traits.resourceStatus === undefined ? [] : [[traits.resourceStatus, code] as const])),
);

/**
 * Re-codes a provider's `upstream_error` whose status is a `resourceStatus` of the error table (404 →
 * `upstream_not_found`, 409 → `upstream_conflict`): for a collection, workflow or job these are answers about the
 * caller's request, so failing over to another service or retrying would be wrong. `secrets` are further forms
 * of the credential (e.g. base64 for Basic auth) to scrub from the message, each in every encoding `credential-forms`
 * knows, because generic redaction only knows the target's plain credential.
 */
export function refineError(error: unknown, secrets: readonly string[] = []): unknown {
  if (!(error instanceof UpstreamError)) return error;
  let message = error.message;
  for (const secret of secrets) if (secret) message = scrubCredential(message, secret);
  const info = { upstreamStatus: error.upstreamStatus, retryAfterSeconds: error.retryAfterSeconds };
  const resourceCode = error.code === "upstream_error" && error.upstreamStatus !== undefined ? RESOURCE_CODES.get(error.upstreamStatus) : undefined;
  if (resourceCode) return new UpstreamError(resourceCode, message, info);
  if (message !== error.message) return new UpstreamError(error.code, message, info);
  return error;
}

/** Runs `call`, passing any failure through `refineError`. */
export async function refined<T>(call: () => Promise<T>, secrets: readonly string[] = []): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw refineError(error, secrets);
  }
}

/** Waits `ms`, or rejects with `request_cancelled` as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | undefined, provider: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new UpstreamError("request_cancelled", `request to ${provider} cancelled by the caller`);
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Base64 of bytes (Buffer's encoder: no hand-written codec). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Strips a `data:…;base64,` prefix so the provider gets bare base64. */
export function bareBase64(image: string): string {
  const comma = image.startsWith("data:") ? image.indexOf(",") : -1;
  return comma >= 0 ? image.slice(comma + 1) : image;
}

/** OpenAI size "WxH" → numbers; undefined when absent or "auto"; a malformed size is the caller's mistake. */
export function parseSize(size: string | undefined): { width: number; height: number } | undefined {
  if (size === undefined || size === "auto") return undefined;
  const match = /^(\d{2,5})x(\d{2,5})$/.exec(size.trim());
  if (!match) throw new ApiError("validation_failed", `size must look like 512x512, got "${size.slice(0, 20)}"`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

/**
 * Validates a neutral request at the connector's door (and applies the schema's defaults). The front doors
 * validate too; this keeps a direct caller from sending the provider a half-formed body.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError("validation_failed", "invalid request", fieldErrorsFromZod(result.error));
  return result.data;
}
