/**
 * @module cluster/cluster-metrics
 * Cluster series on the node's Prometheus registry (docs/operations/metrics.md), read at scrape time: whether this
 * instance holds the leadership (the singleton jobs: scheduled backups, lease expiry, …), and how many instances it
 * sees alive. Summed over instances, `kai_cluster_leader` is 1 on a healthy node; 0 for long means the jobs do not
 * run (deploy/prometheus/kai-alerts.yml). A node of one instance is its own leader, always.
 */
import { Gauge, type Registry } from "prom-client";
import type { Cluster } from "./cluster-types.js";

export function registerClusterMetrics(registry: Registry, cluster: Pick<Cluster, "leadership" | "members">): void {
  const registers = [registry];
  new Gauge({
    name: "kai_cluster_leader",
    help: "1 while this instance holds the cluster's leadership (runs the singleton jobs), else 0",
    registers,
    collect() {
      this.set(cluster.leadership.isLeader ? 1 : 0);
    },
  });
  new Gauge({
    name: "kai_cluster_instances",
    help: "Instances of this node that this instance sees alive, itself included",
    registers,
    async collect() {
      // The cluster's database not answering leaves the figure as it was; the scrape goes on (and /readyz says why).
      const members = await cluster.members().catch(() => null);
      if (members) this.set(members.length);
    },
  });
}
