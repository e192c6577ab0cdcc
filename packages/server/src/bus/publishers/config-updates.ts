/**
 * @module bus/publishers/config-updates
 * CONFIG_UPDATE when a setting of the node changes while it runs. The configuration file is read at start; what
 * changes at runtime today is announced on the cluster's signals: the custom roles (`user_changed {roles}`), the
 * federation peers and their trust (`federation_changed {peers}`), and the vault's keyring (`vault_changed
 * {reason}`: rotation, passphrase change). Only the instance that published the signal turns it into an event, so
 * each is published once. `changed(...)` lets any other runtime setting be announced the same way.
 * Payload: `{ key, by?, reason? , instance, agentId? }`: the setting's name and who changed it, never a value (it may be
 * secret); `agentId` (and the event's `agent`) when the change is to one agent's view (its overrides file).
 *
 * Limit: on one process (SQLite), those signals are not sent today (share-signals publishes them only when
 * instances share a database), so there the events come only from `changed(...)` callers.
 */
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import { publishQuietly, systemEvent, type PublishPort } from "./system-event.js";

export interface ConfigUpdatesDeps {
  bus: PublishPort;
  instanceName: string;
  signals?: Pick<ClusterSignals, "subscribe">;
  onError: (error: unknown) => void;
}

export class ConfigUpdates {
  private readonly stops: Array<() => void> = [];

  constructor(private readonly deps: ConfigUpdatesDeps) {}

  start(): void {
    const signals = this.deps.signals;
    if (!signals) return;
    this.stops.push(
      signals.subscribe("user_changed", (payload, meta) => {
        if (meta.fromSelf && payload.roles === true) this.changed("auth.roles");
      }),
      signals.subscribe("federation_changed", (payload, meta) => {
        if (meta.fromSelf && payload.peers === true) this.changed("federation.peers");
      }),
      signals.subscribe("vault_changed", (payload, meta) => {
        if (meta.fromSelf) this.changed("vault.keyring", undefined, typeof payload.reason === "string" ? payload.reason : undefined);
      }),
    );
  }

  /** Announces that `key` (a dotted setting name) changed, by `by` (a token owner) when known; in `agentId`'s view only when given. */
  changed(key: string, by?: string, reason?: string, agentId?: string): void {
    publishQuietly(
      this.deps.bus,
      systemEvent(
        "CONFIG_UPDATE",
        { key, ...(by !== undefined ? { by } : {}), ...(reason !== undefined ? { reason: reason.slice(0, 100) } : {}), instance: this.deps.instanceName, ...(agentId !== undefined ? { agentId } : {}) },
        agentId !== undefined ? { agent: agentId } : {},
      ),
      this.deps.onError,
    );
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
