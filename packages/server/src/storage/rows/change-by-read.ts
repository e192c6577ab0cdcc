/**
 * @module storage/rows/change-by-read
 * `changeService` for a backend that keeps no write lock across a read (SQLite, memory): read the record, decide,
 * and write conditionally on the revision read, so a change in between is refused as `RevisionConflict` (the
 * contract's optimistic rule) instead of being overwritten. One helper, so both backends keep the rule alike.
 */
import type { ServiceChange, ServiceDecision, ServiceRecordStore } from "../contracts/node-store.js";

export async function changeByRead(
  store: Pick<ServiceRecordStore, "getService" | "writeService">,
  id: string,
  decide: ServiceDecision,
): Promise<ServiceChange> {
  const previous = await store.getService(id);
  const write = decide(previous);
  if (write === null) return { previous, event: null };
  if (write.record.id !== id) throw new Error(`changeService(${id}) decided a write of ${write.record.id}`);
  const event = await store.writeService({ ...write, expectedRevision: previous?.revision ?? 0 });
  return { previous, event };
}
