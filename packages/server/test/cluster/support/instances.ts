/**
 * Whole servers as instances of one node on one real PostgreSQL, for the cluster tests that run two (or more)
 * of them: a fresh database, one shared vault key folder and passphrase (instances of one node share the
 * vault), and a config per instance that differs only in its name. `dispose()` stops every instance and removes
 * the key folder; the PostgreSQL server itself stays the test file's (one per file, stopped in its afterAll).
 */
import { mkdtempSync, rmSync } from "node:fs";
import pg from "pg";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StartServerOptions } from "../../../src/server.js";
import type { PostgresServer } from "../../helpers/postgres-server.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

type ServerConfig = NonNullable<StartServerOptions["config"]>;
type PostgresSettings = NonNullable<NonNullable<ServerConfig["storage"]>["postgres"]>;
type ClusterSettings = NonNullable<ServerConfig["cluster"]>;

export interface InstancesOptions {
  /** Prefix of the database's name (shows which test made it). */
  database: string;
  /** How many instances; named "a", "b", … (default 2). */
  count?: number;
  /**
   * "together" starts all at once on the empty database (they race to create the schema, the vault, the node key
   * and the epoch, and must agree); "in-turn" (the default) starts each after the previous is up.
   */
  start?: "together" | "in-turn";
  /** Settings added to `storage.postgres` (url and poolSize 4 are set). */
  postgres?: Omit<PostgresSettings, "url">;
  /** Settings added to `cluster` (instanceName is set). */
  cluster?: Omit<ClusterSettings, "instanceName">;
  /** Other config sections (rateLimit, registry, cache, …). */
  config?: Omit<ServerConfig, "storage" | "vault" | "cluster">;
}

export interface Instances {
  servers: TestServer[];
  /**
   * Adds a live member that never answers anything (its membership row as an instance writes it, seen "now" for the
   * next hour, with no process behind it): what the others see of an instance that hangs. Resolves to its removal.
   */
  addSilentMember(name: string): Promise<() => Promise<void>>;
  /** Stops every instance still running and removes the shared key folder. */
  dispose(): Promise<void>;
}

const env = { KAI_VAULT_PASSPHRASE: "cluster test passphrase" };

export async function startInstances(pg: PostgresServer, options: InstancesOptions): Promise<Instances> {
  const url = await pg.createDatabase(options.database);
  const keyDir = mkdtempSync(join(tmpdir(), "kai-keys-"));
  const names = Array.from({ length: options.count ?? 2 }, (_, i) => String.fromCharCode(97 + i));
  const start = (name: string) =>
    startTestServer({
      config: {
        ...options.config,
        storage: { kind: "postgres", postgres: { url, poolSize: 4, ...options.postgres } },
        vault: { keyDir, pbkdf2Iterations: 10_000 },
        cluster: { ...options.cluster, instanceName: name },
      },
      env,
    });
  const servers: TestServer[] = [];
  const dispose = async () => {
    await Promise.allSettled(servers.map((server) => server.dispose()));
    rmSync(keyDir, { recursive: true, force: true });
  };
  try {
    if (options.start === "together") {
      const started = await Promise.allSettled(names.map(start));
      for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
      const failed = started.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    } else {
      for (const name of names) servers.push(await start(name));
    }
  } catch (error) {
    // An instance that did not come up must not leave the others running.
    await dispose();
    throw error;
  }
  return { servers, addSilentMember: (name) => addSilentMember(url, name), dispose };
}

async function addSilentMember(databaseUrl: string, name: string): Promise<() => Promise<void>> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const id = `silent-${name}`;
  try {
    await db.query(
      "INSERT INTO cluster_members (instance_id, name, url, version, started_at, seen_at, info) VALUES ($1, $2, NULL, '0', now(), now() + interval '1 hour', '{}')",
      [id, name],
    );
  } finally {
    await db.end();
  }
  return async () => {
    const again = new pg.Client({ connectionString: databaseUrl });
    await again.connect();
    try {
      await again.query("DELETE FROM cluster_members WHERE instance_id = $1", [id]);
    } finally {
      await again.end();
    }
  };
}
