/**
 * @module agent-runtime/klp-agent
 * `createKlpAgent`: an agent reached over KLP, in a few lines. On `start()` it loads (or creates) its Ed25519
 * key, pins the node's DID from the node's signed `/.well-known/klp.json`, serves its KLP endpoint, registers a
 * manifest signed by its key (transport `klp`, its endpoint URL) and heartbeats its lease, registering again
 * (freshly signed) when the node has forgotten it. Task requests run only when signed by the pinned node DID; the
 * handler of the step's capability runs with an AbortSignal and its answer goes back signed. `stop()` stops the
 * heartbeats and the endpoint (running steps are aborted) and, unless told otherwise, removes the agent.
 */
import { signAgentManifest, type AgentManifestInput, type klp, type ServiceRecord } from "@kai/protocol";
import { KaiApiError } from "../errors.js";
import type { KaiClient } from "../types.js";
import { unrefTimer } from "../timers.js";
import { loadOrCreateAgentKey } from "./agent-key.js";
import { KlpEndpoint, type KlpSkillHandler } from "./klp-endpoint.js";
import { pinNodeDid } from "./node-pin.js";

/** The manifest without what the runtime fills in: DID, endpoint, issuedAt (signed fresh on every registration). */
export type KlpAgentManifest = Omit<AgentManifestInput, "did" | "endpoint" | "issuedAt">;

export interface KlpAgentOptions {
  /** A client of the node with `agents:write` (register) and `services:heartbeat`; its URL is the node's. */
  client: KaiClient;
  manifest: KlpAgentManifest;
  /** One handler per capability the manifest's skills offer. */
  handlers: Readonly<Record<string, KlpSkillHandler>>;
  /** The agent's key; or `keyFile`, created on first start when missing. One of the two. */
  key?: klp.KlpKeyPair;
  keyFile?: string;
  /** Pin this node DID instead of trusting the node document read at start. */
  nodeDid?: string;
  /**
   * The `fetch` that reads the node's document at start (default: the global one). For a node behind a private CA or
   * one that asks for a client certificate, the same as the client's: `nodeTls(…).fetch` (`@kai/sdk/node`).
   */
  fetch?: typeof fetch;
  /** Where the endpoint listens (default 127.0.0.1, a free port). */
  host?: string;
  port?: number;
  /** The URL the node reaches the endpoint at, when not the listening address (a proxy, a container). */
  publicUrl?: string;
  /** Default: a third of the manifest's ttl, or 30 s without one. */
  heartbeatIntervalMs?: number;
  /** Failed heartbeats and re-registrations (the agent retries at the next interval), handler crashes. */
  onError?(error: unknown): void;
  /** Every refused message (forged, unsigned, stale, replayed): code and message only. */
  onRefused?(refusal: { code: string; message: string }): void;
}

export interface KlpAgent {
  /** Set once started. */
  readonly did: string | undefined;
  readonly url: string | undefined;
  readonly nodeDid: string | undefined;
  start(): Promise<ServiceRecord>;
  stop(options?: { deregister?: boolean }): Promise<void>;
}

export function createKlpAgent(options: KlpAgentOptions): KlpAgent {
  if (!options.key === !options.keyFile) throw new TypeError("createKlpAgent needs exactly one of key and keyFile");
  let key: klp.KlpKeyPair | undefined;
  let endpoint: KlpEndpoint | undefined;
  let url: string | undefined;
  let nodeDid: string | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let beating = false;

  const register = async (): Promise<ServiceRecord> => {
    const signed = signAgentManifest({ ...options.manifest, endpoint: { transport: "klp", url: url! } }, key!);
    return (await options.client.agents.register(signed)).agent;
  };

  const heartbeat = async () => {
    if (beating) return;
    beating = true;
    try {
      await options.client.services.heartbeat(options.manifest.id);
    } catch (error) {
      // The lease ran out or someone removed the record: register again, freshly signed.
      if (error instanceof KaiApiError && error.status === 404) await register().catch((again: unknown) => options.onError?.(again));
      else options.onError?.(error);
    } finally {
      beating = false;
    }
  };

  return {
    get did() {
      return key?.did;
    },
    get url() {
      return url;
    },
    get nodeDid() {
      return nodeDid;
    },
    async start() {
      if (endpoint) throw new Error("the agent is already started");
      key = options.key ?? (await loadOrCreateAgentKey(options.keyFile!));
      nodeDid = await pinNodeDid(options.client.url, { ...(options.nodeDid ? { expected: options.nodeDid } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) });
      endpoint = new KlpEndpoint({
        key,
        nodeDid,
        handlers: options.handlers,
        ...(options.onRefused ? { onRefused: options.onRefused } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
      });
      try {
        const listening = await endpoint.listen(options.port ?? 0, options.host ?? "127.0.0.1");
        url = options.publicUrl ?? listening;
        const record = await register();
        const ttl = options.manifest.ttl;
        const interval = options.heartbeatIntervalMs ?? (ttl ? Math.max(1000, (ttl * 1000) / 3) : 30_000);
        timer = setInterval(() => void heartbeat(), interval);
        unrefTimer(timer);
        return record;
      } catch (error) {
        await endpoint.close();
        endpoint = undefined;
        throw error;
      }
    },
    async stop(stopOptions = {}) {
      if (timer) clearInterval(timer);
      timer = undefined;
      const running = endpoint;
      endpoint = undefined;
      if (!running) return;
      await running.close();
      if (stopOptions.deregister ?? true) {
        await options.client.agents.remove(options.manifest.id).catch((error: unknown) => {
          if (!(error instanceof KaiApiError && error.status === 404)) throw error;
        });
      }
    },
  };
}
