/**
 * @module storage/copy/verify-copy
 * The check after a copy: the source's and the target's inventories (inventory.ts) side by side, one row
 * per kind (sign-in's users, roles, sessions, factors and security log, the data services and the plugin installs, included), each with both counts and
 * whether they agree (counts AND content digests). The settings row
 * compares the copied settings by value; the registry epoch must differ (the target's is new, see
 * copy-node.ts); the identity row compares the DID the target's stored public key gives with the source's.
 */
import { SERVICE_STATUSES } from "@kai/protocol";
import type { DigestKind, Inventory } from "./inventory.js";
import type { IdentityDigestKind } from "./identity-inventory.js";
import type { DataDigestKind } from "./data-inventory.js";
import { serviceTotal } from "./inventory.js";

export interface VerificationRow {
  kind: string;
  source: string;
  target: string;
  ok: boolean;
}

export interface SettingsExpectation {
  /** Settings copied as they are, by key. */
  copied: Map<string, string>;
  epochKey: string;
  sourceEpoch: string | null;
  identityKey: string;
  sourceDid: string;
  /** The DID of a stored public key (null when it is not one). */
  didOf(pem: string): string | null;
}

export function verifyCopy(source: Inventory, target: Inventory, settings: SettingsExpectation): VerificationRow[] {
  const rows: VerificationRow[] = [];
  const count = (kind: string, a: number, b: number, digest?: DigestKind) =>
    rows.push({ kind, source: String(a), target: String(b), ok: a === b && (digest === undefined || source.digests[digest] === target.digests[digest]) });

  count("services", serviceTotal(source), serviceTotal(target), "services");
  for (const status of SERVICE_STATUSES) count(`  ${status}`, source.services[status], target.services[status]);
  count("leases (ttl)", source.leases, target.leases, "leases");
  count("  with a heartbeat", source.heartbeats, target.heartbeats);
  count("tokens", source.tokens, target.tokens, "tokens");
  count("  revoked", source.revokedTokens, target.revokedTokens);
  count("vault header", source.vaultHeader, target.vaultHeader, "vaultHeader");
  count("secrets", source.secrets, target.secrets, "secrets");
  count("  versions", source.secretVersions, target.secretVersions);
  count("key usage counters", source.keyUsageVersions, target.keyUsageVersions, "keyUsage");
  count("  encryptions", source.encryptions, target.encryptions);
  count("audit entries", source.auditEntries, target.auditEntries, "audit");
  rows.push({ kind: "  chain head (seq)", source: headSeq(source.auditHead), target: headSeq(target.auditHead), ok: source.auditHead === target.auditHead });
  count("peers", source.peers, target.peers, "peers");
  count("tasks", source.tasks, target.tasks, "tasks");
  count("  events", source.taskEvents, target.taskEvents);
  count("imported records", source.imports, target.imports, "imports");

  const data = (kind: string, x: number, y: number, digest?: DataDigestKind) =>
    rows.push({ kind, source: String(x), target: String(y), ok: x === y && (digest === undefined || source.data.digests[digest] === target.data.digests[digest]) });
  data("artifacts", source.data.artifacts, target.data.artifacts, "artifacts");
  data("prompts", source.data.prompts, target.data.prompts, "prompts");
  data("  versions", source.data.promptVersions, target.data.promptVersions);
  data("memories", source.data.memories, target.data.memories, "memories");
  data("A2A push configs", source.data.pushConfigs, target.data.pushConfigs, "pushConfigs");
  data("plugin installs", source.data.pluginInstalls, target.data.pluginInstalls, "pluginInstalls");
  data("  package bytes", source.data.pluginPackageBytes, target.data.pluginPackageBytes);

  const a = source.identity;
  const b = target.identity;
  const identity = (kind: string, x: number, y: number, digest?: IdentityDigestKind) =>
    rows.push({ kind, source: String(x), target: String(y), ok: x === y && (digest === undefined || a.digests[digest] === b.digests[digest]) });
  identity("users", a.users, b.users, "users");
  identity("custom roles", a.roles, b.roles, "roles");
  identity("sessions", a.sessions, b.sessions, "sessions");
  identity("  revoked", a.revokedSessions, b.revokedSessions);
  identity("TOTP factors", a.totpFactors, b.totpFactors, "totp");
  identity("recovery codes (unused)", a.recoveryCodes, b.recoveryCodes);
  identity("passkeys", a.passkeys, b.passkeys, "passkeys");
  identity("security events", a.securityEvents, b.securityEvents, "securityEvents");

  const same = [...settings.copied].filter(([key, value]) => target.meta.get(key) === value).length;
  rows.push({ kind: "settings", source: String(settings.copied.size), target: String(same), ok: same === settings.copied.size });
  const targetEpoch = target.meta.get(settings.epochKey) ?? null;
  rows.push({
    kind: "registry epoch",
    source: settings.sourceEpoch ?? "-",
    target: targetEpoch ?? "-",
    ok: targetEpoch !== null && targetEpoch !== settings.sourceEpoch,
  });
  const pem = target.meta.get(settings.identityKey);
  const targetDid = pem === undefined ? null : settings.didOf(pem);
  rows.push({ kind: "node identity (DID)", source: settings.sourceDid, target: targetDid ?? "-", ok: targetDid === settings.sourceDid });
  return rows;
}

function headSeq(head: string): string {
  return head === "-" ? "-" : (head.split(":")[0] ?? "-");
}
