/**
 * @module storage/copy/inventory
 * What a backend holds, counted kind by kind, with a digest of each kind's content (content-digest.ts): read
 * through the store contracts only, so the same code takes stock of the SQLite source and of any target. `kai storage copy`
 * uses it three times: to see whether the target is empty, to say what `--force` overwrites, and to verify
 * the copy (counts and digests side by side).
 *
 * Digests leave out what is not the same by design on the target: a record's `revision` (the target's log
 * is its own) and `health` (never stored). Everything else must match byte for byte, so a count that agrees
 * while the content differs is still caught.
 */
import { createHash } from "node:crypto";
import { SERVICE_STATUSES, type ServiceRecord, type ServiceStatus } from "@kai/protocol";
import type { StorageBackend } from "../contracts/storage-backend.js";
import { byKey, digestOf, feed } from "./content-digest.js";
import { identityContents, takeIdentityInventory, type IdentityInventory } from "./identity-inventory.js";
import { allTaskEvents, allTasks } from "./copy-tasks.js";
import { dataContents, takeDataInventory, type DataInventory } from "./data-inventory.js";

/** Page size of every paged read (listings, the audit log). */
const PAGE = 1000;
const ADMIN = { owner: "", admin: true } as const;

export interface Inventory {
  /** Records by status. */
  services: Record<ServiceStatus, number>;
  /** Records that have a ttl (a lease), and how many of those ever sent a heartbeat. */
  leases: number;
  heartbeats: number;
  tokens: number;
  revokedTokens: number;
  /** 1 when the vault is initialised. */
  vaultHeader: number;
  secrets: number;
  secretVersions: number;
  /** Data-key versions with an encryption counter, and the counters' sum. */
  keyUsageVersions: number;
  encryptions: number;
  auditEntries: number;
  /** `seq:mac` of the audit chain's head, `-` for an empty log. */
  auditHead: string;
  peers: number;
  imports: number;
  /** The settings asked about that are present, by key. */
  meta: Map<string, string>;
  /** Sign-in's users, roles, sessions, factors and security log (identity-inventory.ts). */
  identity: IdentityInventory;
  /** kCore's tasks and their stored events (issue 16). */
  tasks: number;
  taskEvents: number;
  /** Artifact metadata, prompts, memories and A2A push configs (data-inventory.ts). */
  data: DataInventory;
  /** Content digests (hex) by kind, compared by the verification. */
  digests: Record<DigestKind, string>;
}

export type DigestKind = "services" | "leases" | "tokens" | "vaultHeader" | "secrets" | "keyUsage" | "audit" | "peers" | "imports" | "tasks";

/** A record as the verification compares it: everything but the target's own revision and the read-time health. */
function comparable(record: ServiceRecord): Omit<ServiceRecord, "revision" | "health"> {
  const { revision: _revision, health: _health, ...rest } = record;
  return rest;
}

/** Every local record, in registration order, page by page. */
export async function* allServices(store: StorageBackend): AsyncGenerator<ServiceRecord[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listServices({ filter: {}, viewer: ADMIN, limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    if (page.services.length > 0) yield page.services;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

/** Takes stock of `store`; `metaKeys` are the settings to look up (the contract cannot list them). */
export async function takeInventory(store: StorageBackend, metaKeys: Iterable<string>): Promise<Inventory> {
  const services = Object.fromEntries(SERVICE_STATUSES.map((status) => [status, 0])) as Record<ServiceStatus, number>;
  const serviceHash = createHash("sha256");
  for await (const page of allServices(store)) {
    for (const record of page) {
      services[record.status]++;
      feed(serviceHash, comparable(record));
    }
  }

  const leaseRows = (await store.listLeases()).sort(byKey((lease) => lease.id));
  const leaseHash = createHash("sha256");
  for (const lease of leaseRows) feed(leaseHash, { id: lease.id, ttl: lease.ttl, heartbeatAt: lease.heartbeatAt });

  const tokenRows = (await store.listTokens()).sort(byKey((token) => token.id));
  const tokenHash = createHash("sha256");
  for (const token of tokenRows) feed(tokenHash, token);

  const vault = store.vaultStore();
  const header = await vault.getHeader();
  const secretHash = createHash("sha256");
  const listed = await vault.listSecrets();
  let secretVersions = 0;
  for (const { name } of listed) {
    const secret = await vault.getSecret(name);
    if (!secret) continue;
    secretVersions += secret.versions.length;
    feed(secretHash, secret);
  }
  const usage = [...(await vault.keyUsage()).entries()].sort(([a], [b]) => a - b);

  const auditHash = createHash("sha256");
  let auditEntries = 0;
  for (let after = 0; ; ) {
    const rows = await vault.auditPage(after, PAGE);
    for (const row of rows) feed(auditHash, row);
    auditEntries += rows.length;
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) break;
    after = last.seq;
  }
  const head = await vault.auditHead();

  const federation = store.federationStore();
  const peers = (await federation.listPeers()).sort(byKey((peer) => peer.did));
  const imports = (await federation.listImports()).sort(byKey((row) => `${row.origin}\u0000${row.serviceId}`));

  const meta = new Map<string, string>();
  for (const key of new Set(metaKeys)) {
    const value = await store.getMeta(key);
    if (value !== null) meta.set(key, value);
  }

  const identity = await takeIdentityInventory(store.identityStore());

  // Tasks with their events, in id order (listing order is the store's own: newest first, ties by id).
  const taskStore = store.taskStore();
  const taskRows: Array<{ id: string; document: unknown }> = [];
  let taskEvents = 0;
  for await (const page of allTasks(taskStore)) {
    for (const record of page) {
      const events = await allTaskEvents(taskStore, record.task.id);
      taskEvents += events.length;
      taskRows.push({ id: record.task.id, document: { record, events } });
    }
  }
  taskRows.sort(byKey((row) => row.id));

  const data = await takeDataInventory(store);

  return {
    services,
    leases: leaseRows.length,
    heartbeats: leaseRows.filter((lease) => lease.heartbeatAt !== null).length,
    tokens: tokenRows.length,
    revokedTokens: tokenRows.filter((token) => token.revokedAt !== null).length,
    vaultHeader: header ? 1 : 0,
    secrets: listed.length,
    secretVersions,
    keyUsageVersions: usage.length,
    encryptions: usage.reduce((sum, [, count]) => sum + count, 0),
    auditEntries,
    auditHead: head ? `${head.seq}:${head.mac}` : "-",
    peers: peers.length,
    imports: imports.length,
    meta,
    identity,
    tasks: taskRows.length,
    taskEvents,
    data,
    digests: {
      services: serviceHash.digest("hex"),
      leases: leaseHash.digest("hex"),
      tokens: tokenHash.digest("hex"),
      vaultHeader: digestOf(header ? [header] : []),
      secrets: secretHash.digest("hex"),
      keyUsage: digestOf(usage),
      audit: auditHash.digest("hex"),
      peers: digestOf(peers),
      imports: digestOf(imports),
      tasks: digestOf(taskRows),
    },
  };
}

/** Total records. */
export function serviceTotal(inventory: Inventory): number {
  return Object.values(inventory.services).reduce((sum, count) => sum + count, 0);
}

/** What makes a target "not empty", as `kind: count` phrases (empty list: nothing there). */
export function contentsOf(inventory: Inventory): string[] {
  const parts: Array<[string, number]> = [
    ["services", serviceTotal(inventory)],
    ["tokens", inventory.tokens],
    ["vault header", inventory.vaultHeader],
    ["secrets", inventory.secrets],
    ["audit entries", inventory.auditEntries],
    ["key usage counters", inventory.keyUsageVersions],
    ["peers", inventory.peers],
    ["imported records", inventory.imports],
    ["tasks", inventory.tasks],
    ...dataContents(inventory.data),
    ["settings", inventory.meta.size],
    ...identityContents(inventory.identity),
  ];
  return parts.filter(([, count]) => count > 0).map(([kind, count]) => `${count} ${kind}`);
}
