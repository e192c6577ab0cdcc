/**
 * @module klp/accept
 * The receiver's acceptance pipeline: the profile's rules 1–7, run in order, the first failure
 * deciding the error code. Everything environment-specific (clock, replay memory, who is trusted, which
 * recipients exist, rate limits) is injected, so the same pipeline serves the server, tests and browsers.
 */
import { parseJson, parseJsonBytes } from "../parse-json.js";
import { KlpError, type KlpErrorCode } from "./errors.js";
import { KLP_PROTOCOL, KlpEnvelopeSchema, type KlpEnvelope } from "./envelope.js";
import { verifyEnvelope } from "./sign.js";
import { parseRecipient, type KlpAddress } from "./address.js";
import type { ReplayCache } from "./replay-cache.js";
import type { KlpMessageType } from "./payloads.js";

/** Types only a trusted peer may send (profile rule 6). */
export const PEER_ONLY_TYPES: ReadonlySet<KlpMessageType> = new Set<KlpMessageType>(["state_sync", "trust_update"]);

export const DEFAULT_STALENESS_WINDOW_SECONDS = 300;

export type TrustDecision =
  | { ok: true }
  | { ok: false; code: Extract<KlpErrorCode, "KLP_UNKNOWN_SENDER" | "KLP_TRUST_INSUFFICIENT" | "KLP_UNAUTHORIZED">; message: string };

export interface AcceptContext {
  /** The receiver's clock in ms since the epoch; injectable for tests. */
  now?: () => number;
  /** Allowed clock difference either way, in seconds (default 300); also the replay window. */
  stalenessWindowSeconds?: number;
  /** Shared across calls so that replays are seen; one per receiving identity. */
  replayCache: ReplayCache;
  /** Rule 6. Defaults to `peerTrustPolicy(() => false)`: peer-only types are refused, others allowed. */
  trust?: (envelope: KlpEnvelope) => TrustDecision | Promise<TrustDecision>;
  /** Rule 7. Defaults to "every well-formed recipient exists". */
  recipientExists?: (address: KlpAddress, envelope: KlpEnvelope) => boolean | Promise<boolean>;
  /** Rule 7. Return false when the sender is over its limit. Defaults to no limit. */
  allowRate?: (envelope: KlpEnvelope) => boolean | Promise<boolean>;
}

export type AcceptResult = { ok: true; envelope: KlpEnvelope } | { ok: false; error: KlpError };

/**
 * A rule-6 policy: `state_sync` and `trust_update` need a trusted peer (else KLP_UNKNOWN_SENDER);
 * every other type is allowed. Servers compose richer policies (grants, trust levels) on top.
 */
export function peerTrustPolicy(isTrustedPeer: (did: string) => boolean): (envelope: KlpEnvelope) => TrustDecision {
  return (envelope) =>
    PEER_ONLY_TYPES.has(envelope.type) && !isTrustedPeer(envelope.from)
      ? { ok: false, code: "KLP_UNKNOWN_SENDER", message: `${envelope.type} is accepted only from a trusted peer` }
      : { ok: true };
}

const fail = (code: KlpErrorCode, message: string, details?: unknown): AcceptResult => ({
  ok: false,
  error: new KlpError(code, message, details),
});

/** Runs rules 1–7 on an already JSON-decoded value. Never throws. */
export async function accept(input: unknown, context: AcceptContext): Promise<AcceptResult> {
  try {
    return await runRules(input, context);
  } catch {
    // A throwing callback or library must not leak its message or stack to the peer.
    return fail("KLP_INTERNAL", "internal error while accepting the message");
  }
}

/**
 * Decodes a message (safely: no prototype keys, bounded depth) and runs the rules. Bad JSON is rule 1, and so
 * are bytes that are not UTF-8 and strings with an unpaired surrogate (spec §1: text is UTF-8, and such a
 * string cannot be canonicalised), refused as malformed rather than decoded to something else.
 */
export async function acceptText(message: string | Uint8Array, context: AcceptContext): Promise<AcceptResult> {
  const json = typeof message === "string" ? parseJson(message, { wellFormed: true }) : parseJsonBytes(message);
  if (!json.ok) {
    if (json.reason === "encoding") return fail("KLP_MALFORMED", "the message is not valid UTF-8");
    if (json.reason === "text") return fail("KLP_MALFORMED", `the message has text that is not valid Unicode at ${json.path ?? "(root)"}`);
    return fail("KLP_MALFORMED", "the message is not valid JSON");
  }
  return accept(json.value, context);
}

async function runRules(input: unknown, context: AcceptContext): Promise<AcceptResult> {
  // Rule 1: shape.
  const parsed = KlpEnvelopeSchema.safeParse(input);
  if (!parsed.success) {
    const details = parsed.error.issues.slice(0, 10).map((issue) => ({ path: issue.path.join("."), message: issue.message }));
    return fail("KLP_MALFORMED", "the message does not match the KLP envelope schema", details);
  }
  const envelope = parsed.data;
  // Rule 2: version.
  if (envelope.protocol !== KLP_PROTOCOL) return fail("KLP_UNSUPPORTED_VERSION", `only ${KLP_PROTOCOL} is supported`);
  // Rule 3: signature, over the value as received (the schema check above proved it is a plain object).
  if (!verifyEnvelope(input as Record<string, unknown>)) return fail("KLP_BAD_SIGNATURE", "the signature does not verify against the sender's key");
  // Rule 4: staleness and ttl.
  const nowMs = (context.now ?? Date.now)();
  const windowMs = (context.stalenessWindowSeconds ?? DEFAULT_STALENESS_WINDOW_SECONDS) * 1000;
  const sentMs = Date.parse(envelope.timestamp);
  if (Math.abs(nowMs - sentMs) > windowMs) return fail("KLP_STALE", "the timestamp is outside the accepted clock window");
  const ttl = envelope.metadata?.ttl;
  if (ttl !== undefined && nowMs > sentMs + ttl * 1000) return fail("KLP_STALE", "the message has outlived its ttl");
  // Rule 5: replay. The id stays remembered until the message would be stale anyway.
  const seen = context.replayCache.checkAndRecord(envelope.from, envelope.id, sentMs + windowMs, nowMs);
  if (seen === "replay") return fail("KLP_REPLAY", "this message id was already received from this sender");
  if (seen === "full") return fail("KLP_RATE_LIMITED", "too many messages to remember; try again later");
  // Rule 6: sender trust.
  const decision = await (context.trust ?? peerTrustPolicy(() => false))(envelope);
  if (!decision.ok) return fail(decision.code, decision.message);
  // Rule 7: recipient, then rate limit.
  const address = parseRecipient(envelope.to);
  if (!address) return fail("KLP_MALFORMED", "unparseable recipient");
  if (context.recipientExists && !(await context.recipientExists(address, envelope))) return fail("KLP_NOT_FOUND", "no such recipient");
  if (context.allowRate && !(await context.allowRate(envelope))) return fail("KLP_RATE_LIMITED", "rate limit exceeded");
  return { ok: true, envelope };
}
