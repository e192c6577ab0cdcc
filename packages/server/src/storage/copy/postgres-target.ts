/**
 * @module storage/copy/postgres-target
 * The `openStore` options of a PostgreSQL target given as a URL (what `kai storage copy --to` takes): a
 * small pool, because the copy writes one transaction at a time, and the backend's defaults for the rest.
 * TLS is asked for in the URL itself (`?sslmode=require`, `sslrootcert=…`), which the driver reads.
 */
import type { PostgresStoreConfig } from "../index.js";

/** Connections the copy's pool opens at most (the backend's minimum). */
const COPY_POOL_SIZE = 2;

export function postgresTarget(url: string): PostgresStoreConfig {
  return { kind: "postgres", url, poolSize: COPY_POOL_SIZE };
}
