/**
 * @module manifest-check/checked-manifest
 * A manifest that passed every check and is ready to apply, whichever way it was checked: on this thread into
 * registration objects (`fromPlan`), or on several threads into encoded request bodies (`parallel-check.ts`).
 * `applyManifest` needs of each entry only its id, whether it carries a credential and which owner it names; the
 * registration itself only when the registry holds a record with that id (to see whether anything changed), and
 * the encoded batch when it sends one. Keeping the registrations of a 100,000-entry manifest as objects until the
 * end was most of the memory (and of the collector's work) of a large apply.
 */
import type { ServiceRegistration } from "@kai/protocol";
import type { PlannedRegistration } from "@kai/protocol";

export interface CheckedEntry {
  id: string;
  /** The entry sends a raw credential (`auth.token`) for the node's vault: always sent, never "unchanged". */
  carriesToken: boolean;
  /** The owner the entry names, if any. */
  owner: string | undefined;
}

export interface CheckedManifest {
  /** Threads the entries were checked on (1: this one). */
  readonly threads: number;
  /** One per manifest entry, in the file's order. */
  readonly entries: readonly CheckedEntry[];
  /** The normalised registration of entry `index` (what the registry's record is compared with). */
  normalised(index: number): ServiceRegistration;
  /** The body of `POST /api/services/bulk` that registers these entries, in this order: `{"services":[…]}` as UTF-8. */
  body(indices: readonly number[]): Uint8Array;
}

/** True when a registration carries a raw credential for the vault. */
export const carriesToken = (registration: ServiceRegistration): boolean => (registration.auth as { token?: string }).token !== undefined;

/** A manifest checked on this thread (the protocol's `planManifest`): its registrations are at hand. */
export function fromPlan(planned: readonly PlannedRegistration[]): CheckedManifest {
  return {
    threads: 1,
    entries: planned.map((service) => ({ id: service.id, carriesToken: carriesToken(service.normalised), owner: service.normalised.owner })),
    normalised: (index) => planned[index]!.normalised,
    body: (indices) => Buffer.from(JSON.stringify({ services: indices.map((index) => planned[index]!.input) })),
  };
}
