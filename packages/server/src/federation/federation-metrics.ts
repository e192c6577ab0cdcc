/**
 * @module federation/federation-metrics
 * Federation series on the node's Prometheus registry, read at scrape time from the peers' sync state:
 * gauges for liveness (connected, seconds since last contact), lag in revisions and imported records, and a
 * counter of statements or messages refused per peer and KLP code. Peers are few and chosen by an operator,
 * so a `peer` label (the DID) stays bounded.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { klp } from "@kai/protocol";

export function registerFederationMetrics(registry: Registry, peers: () => klp.PeerInfo[], now: () => number = Date.now): void {
  const registers = [registry];
  new Gauge({
    name: "kai_federation_peer_connected",
    help: "1 when the sync link to the peer is open",
    labelNames: ["peer"],
    registers,
    collect() {
      this.reset();
      for (const peer of peers()) this.set({ peer: peer.did }, peer.state === "connected" ? 1 : 0);
    },
  });
  new Gauge({
    name: "kai_federation_peer_last_contact_seconds",
    help: "Seconds since a message from the peer was last accepted (absent before the first)",
    labelNames: ["peer"],
    registers,
    collect() {
      this.reset();
      for (const peer of peers()) if (peer.lastContact !== null) this.set({ peer: peer.did }, (now() - Date.parse(peer.lastContact)) / 1000);
    },
  });
  new Gauge({
    name: "kai_federation_peer_lag_revisions",
    help: "The peer's latest revision minus the one this node holds everything through",
    labelNames: ["peer"],
    registers,
    collect() {
      this.reset();
      for (const peer of peers()) this.set({ peer: peer.did }, peer.lagRevisions);
    },
  });
  new Gauge({
    name: "kai_federation_imported_records",
    help: "Records imported from the peer",
    labelNames: ["peer"],
    registers,
    collect() {
      this.reset();
      for (const peer of peers()) this.set({ peer: peer.did }, peer.importedRecords);
    },
  });
  // A counter (it only grows while the peer is known), so that rate() and increase() work on it. The peer's
  // sync state keeps the running total; each scrape copies it in, and a removed peer's series disappear.
  new Counter({
    name: "kai_federation_rejected_total",
    help: "Statements and messages from the peer refused, by KLP error code (since start)",
    labelNames: ["peer", "code"],
    registers,
    collect() {
      this.reset();
      for (const peer of peers()) for (const [code, count] of Object.entries(peer.rejected)) this.inc({ peer: peer.did, code }, count);
    },
  });
}
