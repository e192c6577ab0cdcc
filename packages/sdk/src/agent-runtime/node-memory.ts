/**
 * @module agent-runtime/node-memory
 * Semantic memory over KLP for an agent (docs/protocol/klp.md "Memory"): `memory_write` and `memory_read` signed
 * with the agent's key, sent to the node's `POST /klp/message`, and answered by an envelope that must pass the
 * acceptance rules with the pinned node DID as the only sender, the agent as recipient and the request's id as
 * `correlationId`. A signed `error` answer (no grant, a namespace not granted, a bad payload) throws a KlpError
 * with its code. What the agent may touch is the node operator's `klp.memoryGrants`, never the agent's to decide.
 */
import { klp } from "@kai/protocol";

export interface KlpMemoryOptions {
  /** The node's base URL (the one the agent registered with). */
  nodeUrl: string;
  /** The agent's key: its DID is the sender the node's memory grant names. */
  key: klp.KlpKeyPair;
  /** The node DID answers must be signed by (`agent.nodeDid`, or `pinNodeDid`). */
  nodeDid: string;
  fetch?: typeof fetch;
  /** Per message, ms (default 30 s: a write embeds through the node's gateway). */
  timeoutMs?: number;
}

export type KlpMemoryWrite = klp.KlpPayload<"memory_write">;
export type KlpMemoryRead = klp.KlpPayload<"memory_read">;

export interface KlpMemory {
  /** Stores `value` under `key` in `namespace`; `status: "existing"` when the same text was already there. */
  write(payload: KlpMemoryWrite): Promise<klp.MemoryWriteAnswer>;
  /** By `key` (the memories written under it), `id`, or `query` (a search by meaning). */
  read(payload: KlpMemoryRead): Promise<klp.MemoryReadAnswer>;
}

export function createKlpMemory(options: KlpMemoryOptions): KlpMemory {
  const doFetch = options.fetch ?? fetch;
  const replayCache = new klp.ReplayCache();

  async function exchange(type: "memory_write" | "memory_read", payload: Record<string, unknown>): Promise<klp.KlpEnvelope> {
    const request = klp.createEnvelope({ type, to: options.nodeDid, payload }, options.key);
    const response = await doFetch(new URL("/klp/message", options.nodeUrl), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(request),
      redirect: "error",
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const accepted = await klp.acceptText(await response.text(), {
      replayCache,
      trust: (envelope) => (envelope.from === options.nodeDid ? { ok: true } : { ok: false, code: "KLP_UNKNOWN_SENDER", message: "the answer is not signed by the pinned node" }),
      recipientExists: (address) => address.kind === "did" && address.did === options.key.did,
    });
    if (!accepted.ok) throw accepted.error;
    const reply = accepted.envelope;
    if (reply.metadata?.correlationId !== request.id) throw new klp.KlpError("KLP_MALFORMED", "the answer does not correlate to the request");
    if (reply.type === "error") {
      const error = klp.ErrorPayloadSchema.parse(reply.payload);
      throw new klp.KlpError(error.code, error.message, error.details);
    }
    return reply;
  }

  const answerOf = <T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, reply: klp.KlpEnvelope, expected: klp.KlpMessageType): T => {
    const parsed = reply.type === expected ? schema.safeParse(reply.payload) : undefined;
    if (!parsed?.success) throw new klp.KlpError("KLP_MALFORMED", `the node answered ${reply.type} without the expected ${expected} payload`);
    return parsed.data;
  };

  return {
    async write(payload) {
      return answerOf(klp.MemoryWriteAnswerSchema, await exchange("memory_write", payload), "status_update");
    },
    async read(payload) {
      return answerOf(klp.MemoryReadAnswerSchema, await exchange("memory_read", payload), "memory_read");
    },
  };
}
