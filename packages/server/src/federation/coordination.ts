/**
 * @module federation/coordination
 * What federation needs from a cluster of instances sharing one database, as a narrow port: a durable signal
 * that peers or imported records changed (the `federation_changed` topic), and word that signals may have been
 * missed. Only the database holds the data; a signal only says what to re-read. The port is federation's own,
 * so that `cluster/` never imports federation and tests can drive two instances with an in-process bus.
 *
 * The leadership half (peer links and the expiry sweep on one instance only) is not here: the composition root
 * runs `FederationService.startLinks()/stopLinks()` as the `federation-links` singleton job.
 */
import type { ClusterSignals } from "../cluster/cluster-types.js";
import type { LinkState } from "./peer-link.js";

/** The state of the leader's link to one peer, as the other instances show it. */
export interface LinkStatus {
  did: string;
  state: LinkState;
  lastError: string | null;
}

const LINK_STATES: ReadonlySet<string> = new Set<LinkState>(["connecting", "connected", "disconnected"]);
/** A link's last error travels in a signal, whose payload is small: longer text is cut. */
const MAX_ERROR_CHARS = 300;

/**
 * One signal's meaning: `peers` (the peer list changed: re-read it), `origin` (records imported from that peer
 * changed: re-read them), `all` (re-read everything: a new leader took over, or signals were missed), `link`
 * (the leader's link to a peer changed state: nothing to re-read, the signal is the news).
 */
export interface FederationChange {
  all?: boolean;
  peers?: boolean;
  origin?: string;
  link?: LinkStatus;
}

export interface FederationCoordination {
  /** Publishes durably; every other instance hears it once. Rejects when the database cannot be reached. */
  publish(change: FederationChange): Promise<void>;
  /** Signals published after subscribing, this instance's own included (`fromSelf`), in publication order. */
  subscribe(listener: (payload: Record<string, unknown>, fromSelf: boolean) => void): () => void;
  /** Told when this instance may have missed signals (cut off from the database for too long). */
  onMissed?(listener: () => void): () => void;
}

/** The port over a cluster's signal bus (the topic `federation_changed` is federation's). */
export function clusterCoordination(signals: ClusterSignals): FederationCoordination {
  return {
    publish: (change) => signals.publish("federation_changed", { ...change }),
    subscribe: (listener) => signals.subscribe("federation_changed", (payload, meta) => listener(payload, meta.fromSelf)),
    onMissed: (listener) => signals.onMissed(listener),
  };
}

/**
 * A received payload as a change, or null when it says nothing this version understands (a newer instance
 * may publish more; an unknown field must not make an older one fail).
 */
export function parseFederationSignal(payload: Record<string, unknown>): FederationChange | null {
  const change: FederationChange = {};
  if (payload.all === true) change.all = true;
  if (payload.peers === true) change.peers = true;
  if (typeof payload.origin === "string" && payload.origin !== "") change.origin = payload.origin;
  const link = payload.link as Record<string, unknown> | null | undefined;
  if (typeof link === "object" && link !== null && typeof link.did === "string" && typeof link.state === "string" && LINK_STATES.has(link.state)) {
    change.link = { did: link.did, state: link.state as LinkState, lastError: typeof link.lastError === "string" ? link.lastError : null };
  }
  return change.all || change.peers || change.origin !== undefined || change.link !== undefined ? change : null;
}

/** A link's status as it goes out in a signal (its error text bounded). */
export function linkStatus(did: string, state: LinkState, lastError: string | null): LinkStatus {
  return { did, state, lastError: lastError === null ? null : lastError.slice(0, MAX_ERROR_CHARS) };
}
