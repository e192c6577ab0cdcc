/**
 * @module klp/handshake
 * The four-step handshake for connection transports (spec §4): hello → challenge → verify → accept.
 * Each step is a signed envelope that must pass the acceptance rules and echo the nonce the other side
 * just chose, so both ends prove their keys and no proof can be replayed on another connection.
 * Written against `KlpTransport` only, so the WebSocket transport can reuse it unchanged.
 */
import { randomBytes } from "@noble/curves/utils.js";
import { toBase64Url } from "./encoding.js";
import { KlpError } from "./errors.js";
import { acceptText, type AcceptContext } from "./accept.js";
import { createEnvelope, newMessageId } from "./sign.js";
import { ChallengePayloadSchema, HelloPayloadSchema, VerifyPayloadSchema, AcceptPayloadSchema, type KlpMessageType } from "./payloads.js";
import type { KlpEnvelope } from "./envelope.js";
import type { KlpKeyPair } from "./keys.js";
import type { KlpTransport } from "./transport.js";

/** 32 random bytes, base64url: the handshake nonce. */
export function newNonce(): string {
  return toBase64Url(randomBytes(32));
}

/** Buffers a transport's messages from the moment it is created, so none is lost between steps. */
function inbox(transport: KlpTransport): { next: (timeoutMs: number) => Promise<string>; dispose: () => void } {
  const queued: string[] = [];
  const waiting: Array<(text: string | undefined) => void> = [];
  const offMessage = transport.onMessage((text) => {
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else queued.push(text);
  });
  const offClose = transport.onClose(() => {
    for (const waiter of waiting.splice(0)) waiter(undefined);
  });
  return {
    next: (timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const text = queued.shift();
        if (text !== undefined) return resolve(text);
        if (transport.closed) return reject(new KlpError("KLP_INTERNAL", "connection closed during handshake"));
        const timer = setTimeout(() => reject(new KlpError("KLP_STALE", "handshake timed out")), timeoutMs);
        waiting.push((received) => {
          clearTimeout(timer);
          if (received === undefined) reject(new KlpError("KLP_INTERNAL", "connection closed during handshake"));
          else resolve(received);
        });
      }),
    dispose: () => {
      offMessage();
      offClose();
    },
  };
}

export interface HandshakeOptions {
  /** Acceptance context for the handshake messages (clock, replay cache, trust). */
  context: AcceptContext;
  /** When set, the peer must be exactly this DID (a pinned peer). */
  expectPeer?: string;
  timeoutMs?: number;
}

export interface HandshakeResult {
  peerDid: string;
  sessionId: string;
}

async function receive(box: ReturnType<typeof inbox>, type: KlpMessageType, options: HandshakeOptions): Promise<KlpEnvelope> {
  const result = await acceptText(await box.next(options.timeoutMs ?? 10_000), options.context);
  if (!result.ok) throw result.error;
  if (result.envelope.type !== type) throw new KlpError("KLP_MALFORMED", `expected ${type}, got ${result.envelope.type}`);
  if (options.expectPeer !== undefined && result.envelope.from !== options.expectPeer) {
    throw new KlpError("KLP_UNKNOWN_SENDER", "the peer is not the pinned identity");
  }
  return result.envelope;
}

const send = (transport: KlpTransport, envelope: KlpEnvelope) => transport.send(JSON.stringify(envelope));

/** The opener's side: hello, then check the challenge, verify, then wait for accept. */
export async function openHandshake(transport: KlpTransport, self: KlpKeyPair, options: HandshakeOptions): Promise<HandshakeResult> {
  const box = inbox(transport);
  try {
    const nonce = newNonce();
    const to = options.expectPeer ?? "topic:klp-handshake";
    const hello = createEnvelope({ type: "klp:hello", to, payload: { did: self.did, nonce } }, self);
    await send(transport, hello);
    const challenge = await receive(box, "klp:challenge", options);
    const challengePayload = ChallengePayloadSchema.parse(challenge.payload);
    if (challengePayload.echo !== nonce) throw new KlpError("KLP_BAD_SIGNATURE", "the challenge does not echo our nonce");
    const verify = createEnvelope(
      { type: "klp:verify", to: challenge.from, payload: { echo: challengePayload.nonce }, metadata: { correlationId: challenge.id } },
      self,
    );
    await send(transport, verify);
    const accepted = await receive(box, "klp:accept", { ...options, expectPeer: challenge.from });
    return { peerDid: challenge.from, sessionId: AcceptPayloadSchema.parse(accepted.payload).sessionId };
  } finally {
    box.dispose();
  }
}

/** The responder's side: wait for hello, challenge, check verify, accept. */
export async function answerHandshake(transport: KlpTransport, self: KlpKeyPair, options: HandshakeOptions): Promise<HandshakeResult> {
  const box = inbox(transport);
  try {
    const hello = await receive(box, "klp:hello", options);
    const helloPayload = HelloPayloadSchema.parse(hello.payload);
    if (helloPayload.did !== hello.from) throw new KlpError("KLP_MALFORMED", "hello names a DID other than its sender");
    const nonce = newNonce();
    const challenge = createEnvelope(
      { type: "klp:challenge", to: hello.from, payload: { echo: helloPayload.nonce, nonce }, metadata: { correlationId: hello.id } },
      self,
    );
    await send(transport, challenge);
    const verify = await receive(box, "klp:verify", { ...options, expectPeer: hello.from });
    if (VerifyPayloadSchema.parse(verify.payload).echo !== nonce) throw new KlpError("KLP_BAD_SIGNATURE", "verify does not echo our nonce");
    const sessionId = newMessageId();
    await send(transport, createEnvelope({ type: "klp:accept", to: hello.from, payload: { sessionId }, metadata: { correlationId: verify.id } }, self));
    return { peerDid: hello.from, sessionId };
  } finally {
    box.dispose();
  }
}
