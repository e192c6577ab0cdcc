/**
 * @module agent-runtime/node-pin
 * Which node an agent takes orders from: the DID in the node's `/.well-known/klp.json`, read once at start and
 * checked (the document's detached signature must verify by that DID, and it must equal `expected` when the
 * operator pinned one). From then on only task requests signed by that DID run; a node document that changes
 * later does not move the pin (restart the agent to follow a new node key).
 */
import { klp } from "@kai/protocol";

export async function pinNodeDid(nodeUrl: string, options: { expected?: string; fetch?: typeof fetch } = {}): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const response = await doFetch(new URL("/.well-known/klp.json", nodeUrl), { headers: { accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`the node's /.well-known/klp.json answered ${response.status}`);
  const document = (await response.json()) as Record<string, unknown> | null;
  const did = document?.did;
  if (typeof did !== "string" || !klp.verifyDocument(document!, did)) throw new Error("the node's /.well-known/klp.json is not signed by the DID it names");
  if (options.expected !== undefined && did !== options.expected) throw new Error(`the node's DID is ${did}, not the pinned ${options.expected}`);
  return did;
}
