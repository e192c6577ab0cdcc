/**
 * @module vault/vault-metrics
 * `kai_vault_locked` on the node's Prometheus registry (docs/operations/metrics.md): 1 while this instance cannot
 * read the vault (locked, or never initialised), read at scrape time. While it is, the gateway cannot inject the
 * credentials it keeps there and every vault operation is refused, so it is an alert of its own
 * (deploy/prometheus/kai-alerts.yml). Each instance unlocks the shared vault on its own: the series is per instance.
 */
import { Gauge, type Registry } from "prom-client";
import type { VaultStatus } from "@kai/protocol";

export function registerVaultMetrics(registry: Registry, status: () => Promise<Pick<VaultStatus, "initialized" | "locked">>): void {
  new Gauge({
    name: "kai_vault_locked",
    help: "1 while this instance cannot read the vault (locked or not initialised), else 0",
    registers: [registry],
    async collect() {
      // A status that cannot be read (its store failing) leaves the figure as it was; the scrape goes on.
      const state = await status().catch(() => null);
      if (state) this.set(state.initialized && !state.locked ? 0 : 1);
    },
  });
}
