/**
 * @module storage/copy/copy-node
 * Copies what the node store holds (contracts/node-store.ts): the service records in registration order, their
 * heartbeat times, and the tokens (revoked ones too: a revoked token must stay refused on the target).
 *
 * Records are written as new registrations: the target assigns its own revisions and its event log starts
 * afresh with one `registered` event per record. The contract has no way to write a record at a chosen
 * revision, and it would not help: the source's old events are not all kept (compaction) and a resumed watch
 * would still mix two logs. So the copy gives the target a NEW registry epoch (copy-storage.ts), and every
 * watcher or federation peer that resumes from a revision of the old node is sent a fresh snapshot instead.
 */
import type { ServiceRecord } from "@kai/protocol";
import type { ServiceDraft, ServiceWrite } from "../contracts/node-store.js";
import type { StorageBackend } from "../contracts/storage-backend.js";
import { allServices } from "./inventory.js";

/** Heartbeat times saved per call. */
const HEARTBEAT_CHUNK = 1000;

export type Progress = (message: string) => void;

/** The record as the target should store it: no revision (the target assigns it), no read-time health. */
function draftOf(record: ServiceRecord): ServiceDraft {
  const { revision: _revision, health: _health, ...draft } = record;
  return draft;
}

/** Writes every source record to the target, a listing page per transaction, in registration order. */
export async function copyServices(source: StorageBackend, target: StorageBackend, progress: Progress): Promise<number> {
  let copied = 0;
  for await (const page of allServices(source)) {
    const writes: ServiceWrite[] = page.map((record) => ({ event: "registered", record: draftOf(record), expectedRevision: 0 }));
    await target.writeServices(writes);
    copied += page.length;
    progress(`services: ${copied} copied`);
  }
  // The records carry their last heartbeat already; saving the lease times too keeps them right on a
  // backend that keeps heartbeats apart from the record (a time never moves backwards, so this is harmless).
  const beats = (await source.listLeases()).flatMap((lease) => (lease.heartbeatAt === null ? [] : [{ id: lease.id, at: lease.heartbeatAt }]));
  for (let start = 0; start < beats.length; start += HEARTBEAT_CHUNK) await target.saveHeartbeats(beats.slice(start, start + HEARTBEAT_CHUNK));
  return copied;
}

/** Copies every token row as it is (revocation time included). */
export async function copyTokens(source: StorageBackend, target: StorageBackend, progress: Progress): Promise<number> {
  const tokens = await source.listTokens();
  for (const token of tokens) await target.insertToken(token);
  progress(`tokens: ${tokens.length} copied`);
  return tokens.length;
}
