/**
 * @module federation/remote-entries
 * An imported record as a KLP discovery entry (`GET /klp/discover`, `service_discovery`): `location` is
 * `remote`, `origin` the node it lives on, and `address` names that node (`klp://<origin>/<id>`), so that
 * whoever reads the entry knows where the service is registered, not just where it was found.
 */
import type { klp, ServiceRecord } from "@kai/protocol";
import { discoveryEntry } from "../klp/discovery.js";

/** The entry for an imported record; undefined for a record without an origin (a local one). */
export function remoteEntryOf(record: ServiceRecord): klp.KlpDiscoveryEntry | undefined {
  const origin = record.origin;
  if (origin === undefined) return undefined;
  // A service that registered over KLP on its origin keeps its own signed registration in metadata.klp.
  const claim = record.metadata.klp as { did?: unknown; registration?: unknown } | undefined;
  const serviceSigned = typeof claim?.did === "string" && typeof claim.registration === "string";
  return discoveryEntry(record, {
    location: "remote",
    origin,
    signer: serviceSigned ? (claim.did as string) : origin,
    ...(serviceSigned ? { registration: claim.registration as string } : {}),
  });
}
