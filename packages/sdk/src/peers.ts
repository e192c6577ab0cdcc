/**
 * @module peers
 * `client.peers`: the federation peers of a node (`/api/peers`, scope `federation:admin`), and
 * `inspectNode`, which reads another node's signed KLP node document directly so that a person can confirm
 * its DID before pinning it. DIDs contain `#`, so they are always percent-encoded in paths.
 */
import { klp, parseJson } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { KlpClient, PeersClient } from "./types.js";

const peerPath = (did: string) => `/api/peers/${encodeURIComponent(did)}`;

export function createPeersClient(http: HttpTransport): PeersClient {
  return {
    add: async (input) => {
      const response = await http.request("POST", "/api/peers", { body: input, schema: klp.PeerInfoSchema, timeoutMs: 30_000 });
      return { peer: response.data, created: response.status === 201 };
    },
    list: async () => (await http.request("GET", "/api/peers", { schema: klp.PeerListResponseSchema })).data.peers,
    get: async (did) => (await http.request("GET", peerPath(did), { schema: klp.PeerInfoSchema })).data,
    setTrusted: async (did, trusted) => (await http.request("PATCH", peerPath(did), { body: { trusted }, schema: klp.PeerInfoSchema })).data,
    remove: async (did) => {
      await http.request("DELETE", peerPath(did));
    },
    sync: async () => (await http.request("POST", "/api/peers/sync", { schema: klp.PeerListResponseSchema, timeoutMs: 120_000 })).data.peers,
    discovered: async (options = {}) => {
      const query = options.waitMs ? `?waitMs=${Math.round(options.waitMs)}` : "";
      return (await http.request("GET", `/api/peers/discovered${query}`, { schema: klp.DiscoveredPeerListResponseSchema, timeoutMs: 30_000 })).data;
    },
  };
}

export function createKlpClient(http: HttpTransport): KlpClient {
  return {
    grant: async (input) => (await http.request("POST", "/api/klp/grants", { body: input, schema: klp.KlpTokenGrantSchema })).data,
  };
}

/** A node's identity as its own signed document states it. */
export interface NodeIdentity {
  did: string;
  name: string;
  version: string;
}

/**
 * Reads `<url>/.well-known/klp.json` and checks its signature by the DID it names. That proves the
 * document was made by whoever holds that key, not that the key is the one you expect: compare the DID
 * with one obtained out of band before trusting it.
 */
export async function inspectNode(url: string, options: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<NodeIdentity> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const response = await fetchImpl(new URL("/.well-known/klp.json", url), { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), redirect: "error" });
  if (response.status !== 200) throw new Error(`no KLP node document at ${url} (HTTP ${response.status})`);
  const json = parseJson(await response.text());
  const parsed = json.ok ? klp.KlpNodeDocumentSchema.safeParse(json.value) : undefined;
  if (!json.ok || !parsed?.success) throw new Error(`the document at ${url} is not a KLP node document`);
  if (!klp.verifyDocument(json.value as Record<string, unknown>, parsed.data.did)) throw new Error(`the node document at ${url} is not signed by the DID it names`);
  return { did: parsed.data.did, name: parsed.data.name, version: parsed.data.version };
}
