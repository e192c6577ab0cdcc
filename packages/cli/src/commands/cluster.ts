/**
 * @module commands/cluster
 * `kai cluster` (admin): the instances of the node, which one is the leader and runs the singleton jobs, how far
 * each is behind, whether a load balancer may send it requests, and the database and cache they share.
 */
import { Command } from "commander";
import type { ClusterInstance, ClusterResponse, ClusterSummary } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { formatKeyValues, listCell } from "../output.js";

export const INSTANCE_HEADERS = ["ID", "NAME", "LEADER", "JOBS", "LAST SEEN", "LAG", "READY", "VAULT"];

/** `name (id) since …`: the leader as `kai status` and `kai cluster` print it. */
export function describeLeader(leader: ClusterSummary["leader"]): string {
  // Between a leader's death and its successor's election (a few seconds) no one holds the jobs.
  return leader ? `${leader.name} (${leader.instanceId}) since ${leader.since}` : "none (election under way)";
}

/** How long ago, in whole seconds; never negative (another instance's clock may run a little ahead). */
function ago(timestamp: string, now: number): string {
  return `${Math.max(0, Math.round((now - Date.parse(timestamp)) / 1000))}s ago`;
}

export function instanceRow(instance: ClusterInstance, now: number): string[] {
  return [
    instance.id,
    instance.name,
    instance.leader ? "yes" : "no",
    listCell(instance.jobs),
    ago(instance.lastSeenAt, now),
    String(instance.lagRevisions),
    instance.ready ? "yes" : "no",
    instance.vault,
  ];
}

function describeCluster(cluster: ClusterResponse): string {
  return formatKeyValues([
    ["mode", cluster.mode],
    ["this instance", `${cluster.instance.name} (${cluster.instance.id})`],
    ["leader", cluster.leader ? `${describeLeader(cluster.leader)}, epoch ${cluster.leader.epoch}` : describeLeader(null)],
    // The description usually names the backend already ("sqlite (WAL, …)"); the kind is added when it does not.
    ["storage", cluster.storage.description.startsWith(cluster.storage.kind) ? cluster.storage.description : `${cluster.storage.kind}: ${cluster.storage.description}`],
    ["cache", `redis ${cluster.cache.redis}`],
    ["instances", String(cluster.instances.length)],
  ]);
}

export function clusterCommand(): Command {
  const command = new Command("cluster").description("instances of this node, the leader and its jobs, shared database and cache (admin)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const cluster = await client().cluster();
    if (out.json) return out.document(cluster);
    out.line(describeCluster(cluster));
    const now = Date.now();
    out.table(INSTANCE_HEADERS, cluster.instances.map((instance) => instanceRow(instance, now)), "no live instances");
  });
}
