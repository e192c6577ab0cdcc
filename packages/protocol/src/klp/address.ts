/**
 * @module klp/address
 * The three forms of a KLP recipient (`to`): a DID, `topic:<name>`, or `klp://<service-id>` /
 * `klp://<node-did>/<service-id>`. Parsing is unambiguous because a service id can contain neither
 * `#` nor `/` while a node DID always ends in `#ed25519`.
 */
import { z } from "zod";
import { IdentifierSchema } from "../schemas/common.js";
import { DID_PATTERN, publicKeyFromDid } from "./did.js";

export type KlpAddress =
  | { kind: "did"; did: string }
  | { kind: "topic"; topic: string }
  | { kind: "service"; serviceId: string; nodeDid?: string };

const TOPIC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NODE_SERVICE_PATTERN = /^(kind:did:[A-Za-z0-9_-]{43}#ed25519)\/(.+)$/;

function isServiceId(text: string): boolean {
  return IdentifierSchema.safeParse(text).success;
}

/** Parses a `klp://` URL; `undefined` when it is not one. */
export function parseKlpAddress(text: string): Extract<KlpAddress, { kind: "service" }> | undefined {
  if (!text.startsWith("klp://")) return undefined;
  const rest = text.slice("klp://".length);
  const withNode = NODE_SERVICE_PATTERN.exec(rest);
  if (withNode) {
    const [, nodeDid, serviceId] = withNode;
    if (nodeDid === undefined || serviceId === undefined) return undefined;
    if (!publicKeyFromDid(nodeDid) || !isServiceId(serviceId)) return undefined;
    return { kind: "service", serviceId, nodeDid };
  }
  return isServiceId(rest) ? { kind: "service", serviceId: rest } : undefined;
}

/** Parses any recipient form; `undefined` when the text is none of them. */
export function parseRecipient(text: string): KlpAddress | undefined {
  if (DID_PATTERN.test(text)) return publicKeyFromDid(text) ? { kind: "did", did: text } : undefined;
  if (text.startsWith("topic:")) {
    const topic = text.slice("topic:".length);
    return TOPIC_PATTERN.test(topic) ? { kind: "topic", topic } : undefined;
  }
  return parseKlpAddress(text);
}

/** Formats a service address; the inverse of `parseKlpAddress`. */
export function formatKlpAddress(serviceId: string, nodeDid?: string): string {
  return nodeDid === undefined ? `klp://${serviceId}` : `klp://${nodeDid}/${serviceId}`;
}

export const RecipientSchema = z
  .string()
  .max(512)
  .refine((text) => parseRecipient(text) !== undefined, "must be a DID, topic:<name> or klp://[<node-did>/]<service-id>");
