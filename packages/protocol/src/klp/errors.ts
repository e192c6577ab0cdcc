/**
 * @module klp/errors
 * The KLP error codes (profile, acceptance rules) and the `KlpError` that carries one. A code is stable
 * and machine-readable; the message is for humans and never contains internals.
 */
import { z } from "zod";

export const KLP_ERROR_CODES = [
  "KLP_MALFORMED",
  "KLP_UNSUPPORTED_VERSION",
  "KLP_BAD_SIGNATURE",
  "KLP_STALE",
  "KLP_REPLAY",
  "KLP_UNKNOWN_SENDER",
  "KLP_TRUST_INSUFFICIENT",
  "KLP_UNAUTHORIZED",
  "KLP_NOT_FOUND",
  "KLP_RATE_LIMITED",
  "KLP_INTERNAL",
] as const;

export const KlpErrorCodeSchema = z.enum(KLP_ERROR_CODES);
export type KlpErrorCode = z.infer<typeof KlpErrorCodeSchema>;

/** A rejected or failed KLP message. `details` must be safe to send to the peer. */
export class KlpError extends Error {
  override readonly name = "KlpError";
  constructor(
    readonly code: KlpErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
