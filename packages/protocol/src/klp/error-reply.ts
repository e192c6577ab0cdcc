/**
 * @module klp/error-reply
 * Turns a rejection into the signed `error` envelope the profile requires as the answer. The reply
 * correlates to the rejected message when that message had a usable id and sender.
 */
import type { KlpError } from "./errors.js";
import type { KlpEnvelope } from "./envelope.js";
import { KlpIdSchema } from "./envelope.js";
import { DidSchema } from "./did.js";
import { createEnvelope } from "./sign.js";
import type { KlpKeyPair } from "./keys.js";

/**
 * Builds the signed error reply. `rejected` is the raw input (possibly malformed); its `id` and `from`
 * are used only when they are well-formed, otherwise the error goes to `fallbackTo` (e.g. the
 * connection's peer) or, failing that, to the topic `topic:errors`.
 */
export function createErrorReply(error: KlpError, rejected: unknown, keyPair: KlpKeyPair, fallbackTo?: string, now?: Date): KlpEnvelope {
  const raw = typeof rejected === "object" && rejected !== null ? (rejected as Record<string, unknown>) : {};
  const id = KlpIdSchema.safeParse(raw.id);
  const from = DidSchema.safeParse(raw.from);
  return createEnvelope(
    {
      type: "error",
      to: from.success ? from.data : (fallbackTo ?? "topic:errors"),
      payload: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) },
      ...(id.success ? { metadata: { correlationId: id.data } } : {}),
      ...(now ? { timestamp: now } : {}),
    },
    keyPair,
  );
}
