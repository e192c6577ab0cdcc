/**
 * @module commands/status
 * `kai status`: is the node up, what does the registry hold, which instance answered and who leads the
 * cluster, and who am I to it.
 */
import { Command } from "commander";
import type { StatusResponse } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { formatKeyValues } from "../output.js";
import { describeLeader } from "./cluster.js";

function describeStatus(status: StatusResponse, url: string): string {
  const { node, registry, caller, cluster } = status;
  const byStatus = Object.entries(registry.byStatus)
    .map(([name, count]) => `${count} ${name}`)
    .join(", ");
  const guard = registry.expiryGuard.engaged
    ? `ENGAGED since ${registry.expiryGuard.since ?? "?"}, ${registry.expiryGuard.heldBack} held back (${registry.expiryGuard.reason ?? "no reason given"})`
    : "not engaged";
  return formatKeyValues([
    ["server", url],
    ["version", node.version],
    ["started", `${node.startedAt} (up ${Math.round(node.uptimeSeconds)}s)`],
    ["storage", node.storage],
    ["mode", cluster.mode],
    ["instance", `${cluster.instance.name} (${cluster.instance.id})`],
    ["leader", describeLeader(cluster.leader)],
    ["instances", String(cluster.instances)],
    ["cache", `redis ${cluster.cache.redis}`],
    ["services", byStatus ? `${registry.services} (${byStatus})` : String(registry.services)],
    ["revision", String(registry.revision)],
    ["watchers", String(registry.watchers)],
    ["expiry guard", guard],
    ["you are", `${caller.owner} (${caller.scopes.join(", ")})`],
  ]);
}

export function statusCommand(): Command {
  const command = new Command("status").description("node and registry summary");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const kai = client();
    const status = await kai.status();
    if (out.json) out.document(status);
    else out.line(describeStatus(status, kai.url).trimEnd());
  });
}
