/**
 * @module storage/contracts/viewer
 * Who is asking, and the visibility rule that decides which service records they may see. Every backend's
 * `listServices`/`countServices` applies it in its own query language; the registry, the router and the
 * directory apply it to records they already hold, so the rule is written once, here.
 */
import type { ServiceRecord } from "@kai/protocol";

/** Who is asking: decides which records a query may return. */
export interface Viewer {
  owner: string;
  /** Admins see every record. */
  admin: boolean;
}

/**
 * The visibility rule every backend's `listServices`/`countServices` applies and the registry enforces:
 * admins see everything, owners see their own, everyone else sees `public` and `internal` records.
 */
export function canSee(viewer: Viewer, record: Pick<ServiceRecord, "owner" | "visibility">): boolean {
  return viewer.admin || record.owner === viewer.owner || record.visibility !== "private";
}
