/**
 * @module commands/status
 * `kai status`: is the node up, what does the registry hold, which instance answered and who leads the
 * cluster, and who am I to it.
 */
import { Command } from "commander";
import { certificateTimeLeft, type StatusResponse } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { formatKeyValues } from "../output.js";
import { describeLeader } from "./cluster.js";

/** "expires … (in 84 days)", "(in 5 hour(s))", or "EXPIRED … (2 days ago)": how long a certificate has left, read at a glance. */
export function describeExpiry(notAfter: string, now = Date.now()): string {
  const { expired, words } = certificateTimeLeft(notAfter, now);
  return expired ? `EXPIRED ${notAfter} (${words} ago)` : `expires ${notAfter} (in ${words})`;
}

/** One row per certificate the node presents, and one saying which sections' changed files did not load. */
export function tlsRows(tls: StatusResponse["node"]["tls"]): [string, string][] {
  if (!tls) return [["tls", "off (plain HTTP; a proxy in front may terminate TLS)"]];
  const rows: [string, string][] = tls.certificates.map((certificate) => ["tls", `${certificate.setting}: ${certificate.subject}, issued by ${certificate.issuer}, ${describeExpiry(certificate.notAfter)}`]);
  if (rows.length === 0) rows.push(["tls", "no certificate of its own (only a CA that peers' certificates are checked against)"]);
  if (tls.notReloaded.length > 0) {
    rows.push(["tls reload", `FAILED for ${tls.notReloaded.join(", ")}: the files changed but do not load, the last good ones are still in use (kai logs tail --level warn says why)`]);
  }
  return rows;
}

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
    ...tlsRows(node.tls),
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
