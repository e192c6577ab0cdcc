/**
 * @module klp/memory-grant
 * Who may use a node's semantic memory over KLP (`memory_read` / `memory_write`): an operator's explicit grant in
 * the node configuration (`klp.memoryGrants`, docs/protocol/klp.md "Memory"). A KLP key is anyone's to make, so no
 * sender — agent or trusted peer — gets memory access by default; a grant names the sender, the owner whose memory
 * it acts on (memory namespaces belong to an owner, as for tokens), and the namespaces it may read and write.
 */
import { z } from "zod";
import { DidSchema } from "./did.js";

/** A namespace (`notes`) or a prefix ending in `*` (`agents/painter/*`, or `*` for all of the owner's namespaces). */
export const KlpMemoryNamespacePatternSchema = z
  .string()
  .regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}\*?)$/, "must be a namespace, or a namespace prefix ending in *");

export const KlpMemoryGrantSchema = z
  .strictObject({
    /** The sender by key: any DID (an agent's, or a trusted peer node's). */
    did: DidSchema.optional(),
    /**
     * The sender as a registered agent (`metadata.agent.did` of its record): the record must be owned by `owner`, and
     * the message must come from the DID it is bound to now (a re-keyed agent keeps its grant once re-registered).
     */
    agent: z.string().min(1).max(256).optional(),
    /** The owner whose namespaces the sender reads and writes (the memories are this owner's, as a token's are). */
    owner: z.string().min(1).max(128),
    /** Namespaces the sender may read (search, read by key or id). */
    read: z.array(KlpMemoryNamespacePatternSchema).max(64).default([]),
    /** Namespaces the sender may write; a writer may also read them (a write answers with the memory already stored). */
    write: z.array(KlpMemoryNamespacePatternSchema).max(64).default([]),
  })
  .refine((grant) => (grant.did === undefined) !== (grant.agent === undefined), { message: "give exactly one of did or agent", path: ["did"] });
export type KlpMemoryGrant = z.output<typeof KlpMemoryGrantSchema>;

/** True when `namespace` matches `pattern` (exact, or by prefix for a pattern ending in `*`). */
export function namespaceMatches(pattern: string, namespace: string): boolean {
  return pattern.endsWith("*") ? namespace.startsWith(pattern.slice(0, -1)) : namespace === pattern;
}
