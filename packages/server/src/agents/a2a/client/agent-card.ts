/**
 * @module agents/a2a/client/agent-card
 * Reading an external agent's A2A card with the official SDK (`DefaultAgentCardResolver`, which also normalises
 * the protobuf-JSON spelling some servers use), and choosing the interface the node talks to: the JSON-RPC one
 * (the binding the node's own A2A client transport speaks). A card without one cannot be used and is refused
 * clearly, as is anything that is not a card: the caller learns `agent_card_unreadable`, never the fetch's internals.
 * A card's A2A signatures are checked when it has any (../card-signature.ts): one that does not verify against the
 * key it names means a changed or forged card, refused like an unreadable one (a refresh then puts the agent offline).
 */
import { DefaultAgentCardResolver } from "@a2a-js/sdk/client";
import type { AgentCard, AgentInterface } from "@a2a-js/sdk";
import { ApiError } from "../../../errors.js";
import { checkAgentCardSignatures, type CardSignatureCheck } from "../card-signature.js";

const CARD_PATH = "/.well-known/agent-card.json";
/** A card read takes at most this long: an agent that hangs is treated as unreadable, not waited on. */
const READ_TIMEOUT_MS = 10_000;
/** A card larger than this is not an agent card (and is not read into memory whole). */
const MAX_CARD_BYTES = 1024 * 1024;

/** The URL the card is read from: the given URL itself when it names a `.json` document, else the well-known path under it. */
export function cardUrlOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname.endsWith(".json")) return parsed.toString();
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, "")}${CARD_PATH}`;
  return parsed.toString();
}

/** fetch with a time limit and a size limit, for the resolver (no redirects: the card's URL is the one given). */
async function boundedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, { ...init, redirect: "error", signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_CARD_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error("the card is too large");
  }
  const text = await response.text();
  if (text.length > MAX_CARD_BYTES) throw new Error("the card is too large");
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const resolver = new DefaultAgentCardResolver({ fetchImpl: boundedFetch });

export interface ReadCard {
  card: AgentCard;
  cardUrl: string;
  /** The JSON-RPC interface the node calls. */
  endpoint: AgentInterface;
  /** What the card's signatures say (verified or unverified: an invalid one is refused). */
  signature?: CardSignatureCheck;
}

/** The card at `cardUrl`, or `agent_card_unreadable` saying why in a few words. */
export async function readAgentCard(cardUrl: string): Promise<ReadCard> {
  let card: AgentCard;
  try {
    card = await resolver.resolve(cardUrl, "");
  } catch (error) {
    const why = error instanceof Error && /too large|timeout|abort/i.test(error.message) ? error.message.slice(0, 120) : "it could not be fetched or is not JSON";
    throw new ApiError("agent_card_unreadable", `the agent card at ${cardUrl} could not be read: ${why}`);
  }
  if (typeof card?.name !== "string" || !Array.isArray(card.supportedInterfaces) || !Array.isArray(card.skills)) {
    throw new ApiError("agent_card_unreadable", `${cardUrl} is not an A2A agent card (name, supportedInterfaces and skills are required)`);
  }
  const endpoint = card.supportedInterfaces.find((entry) => entry.protocolBinding === "JSONRPC" && /^https?:\/\//.test(entry.url));
  if (!endpoint) {
    throw new ApiError("agent_card_unreadable", `the agent card at ${cardUrl} offers no JSON-RPC interface (the binding this node speaks)`);
  }
  const signature = checkAgentCardSignatures(card);
  if (signature.status === "invalid") {
    throw new ApiError("agent_card_unreadable", `the agent card at ${cardUrl} carries a signature that does not verify (changed or forged): refused`);
  }
  return { card, cardUrl, endpoint, signature };
}
