/**
 * One instance of a node, as its own process, for the failover tests: joins the cluster on the database given
 * as argv[2] under the name argv[3], and prints one JSON line per event on stdout
 * (`{"event":"ready","instanceId"}`, `{"event":"leader","leader":true,"epoch":3}`). SIGTERM leaves gracefully
 * (close(): the lock is handed over at once); SIGKILL is the crash the tests are about.
 */
import pg from "pg";
import { PostgresCluster } from "../../../src/cluster/postgres/pg-cluster.js";

const [url, name] = process.argv.slice(2);
if (!url || !name) throw new Error("usage: cluster-member.ts <database url> <name>");

const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const quiet = () => undefined;
const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000 });
pool.on("error", quiet);
const cluster = new PostgresCluster({
  pool,
  clientConfig: { connectionString: url, connectionTimeoutMillis: 2_000 },
  instanceName: name,
  version: "test",
  // The production defaults: the takeover these give is what the test measures.
  heartbeatMs: 1_000,
  memberTimeoutMs: 5_000,
  pollIntervalMs: 2_000,
  logger: { info: quiet, warn: quiet, error: (fields, msg) => process.stderr.write(`${msg ?? ""} ${JSON.stringify(fields)}\n`) },
});
cluster.leadership.onChange((leader) => print({ event: "leader", leader, epoch: cluster.leadership.epoch }));
await cluster.start();
print({ event: "ready", instanceId: cluster.instanceId });

process.once("SIGTERM", () => {
  void cluster
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
});
