/**
 * Fresh planner statistics on PostgreSQL after many registry writes (`PgServiceBatcher`'s background ANALYZE). A
 * filtered listing's plan depends on them; after a bulk load, autovacuum's analyze could come a minute late and the
 * filtered query at 100k services took ~150 ms at p99 instead of ~4 ms. What users rely on: once an instance has
 * written a few thousand records, the registry's tables are analyzed without anyone running ANALYZE by hand.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/storage/postgres/pg-store.js";
import { startPostgres, testClient } from "../helpers/postgres-server.js";
import { draft } from "./__fixtures__/records.js";

const server = await startPostgres({ maxConnections: 20 });
afterAll(async () => {
  await server?.stop();
});

const opened: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
});

/** How often each registry table was analyzed by hand (ANALYZE), not by autovacuum. */
async function manualAnalyzes(url: string): Promise<Record<string, number>> {
  const client = testClient({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ relname: string; analyze_count: string }>(
      "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname IN ('services', 'service_tags', 'service_capabilities')",
    );
    return Object.fromEntries(rows.map((row) => [row.relname, Number(row.analyze_count)]));
  } finally {
    await client.end();
  }
}

const batchOf = (from: number, count: number) =>
  Array.from({ length: count }, (_, k) => ({ event: "registered" as const, record: draft(`stat-${from + k}`, { tags: [`zone-${k % 7}`], capabilities: ["embeddings"] }), expectedRevision: 0 }));

describe.skipIf(!server)("fresh planner statistics for the registry on PostgreSQL", () => {
  it("analyzes the registry's tables once an instance has written 5,000 records, not before", async () => {
    const url = await server!.createDatabase("stats");
    const store = await PostgresStore.open({ kind: "postgres", url, poolSize: 3 });
    opened.push(store);
    for (let from = 0; from < 4000; from += 1000) await store.writeServices(batchOf(from, 1000));
    expect(await manualAnalyzes(url)).toEqual({ services: 0, service_tags: 0, service_capabilities: 0 });
    await store.writeServices(batchOf(4000, 1000));
    const deadline = Date.now() + 15_000;
    let counts = await manualAnalyzes(url);
    while (Object.values(counts).some((count) => count === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      counts = await manualAnalyzes(url);
    }
    expect(counts).toEqual({ services: 1, service_tags: 1, service_capabilities: 1 });
  });
});
