/**
 * Plans on PostgreSQL at 100k services. Listings: every filtered page is walked in listing order along an index and
 * stops at the page size (a Limit over index scans), never a scan of the whole services table followed by a sort.
 * Writes: a group-commit batch that changes existing records finds each row through the id index, as a custom and as
 * a generic plan (its statement is prepared once per connection). Plans, not timings, so the checks hold on a busy
 * machine; the rows are made by SQL for speed, in the shape the store writes them (seq = the creating revision,
 * (value, seq) term rows).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import type { ServiceFilter } from "@kai/protocol";
import { migratePostgres } from "../../src/storage/postgres/pg-migrations.js";
import { buildListQuery } from "../../src/storage/postgres/pg-service-query.js";
import { ServiceBatchPlan } from "../../src/storage/postgres/pg-service-plan.js";
import { storedOf, type PgServiceRow, type StoredService } from "../../src/storage/postgres/pg-service-rows.js";
import { draft } from "./__fixtures__/records.js";
import { startPostgres, testPool } from "../helpers/postgres-server.js";

const server = await startPostgres();
let pool: pg.Pool | undefined;
afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe.skipIf(!server)("PostgreSQL plans at 100k services", () => {
  beforeAll(async () => {
    pool = testPool({ connectionString: await server!.createDatabase("plans"), max: 2 });
    await migratePostgres(pool);
    await pool.query(`
      INSERT INTO services (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc)
      SELECT i, 'svc-' || i, 'owner-' || (i % 50), (ARRAY['public','internal','private'])[1 + i % 3], (ARRAY['agent','tool','service','api'])[1 + i % 4],
             CASE WHEN i % 3 = 0 THEN 'openai' END, (ARRAY['active','degraded','offline','maintenance'])[1 + i % 4], 30, NULL, 0, i,
             'svc-' || i || chr(31) || 'service ' || i, '{"id":"svc-' || i || '","tags":[],"capabilities":[]}'
      FROM generate_series(1, 100000) AS i`);
    await pool.query(`INSERT INTO service_capabilities (capability, seq) SELECT (ARRAY['llm_chat','embeddings','tts','stt','image','code'])[1 + i % 6], i FROM generate_series(1, 100000) AS i`);
    await pool.query(`INSERT INTO service_tags (tag, seq) SELECT (ARRAY['gpu','eu','us','beta','fast','cheap','big','small'])[1 + i % 8], i FROM generate_series(1, 100000) AS i`);
    await pool.query("ANALYZE");
  }, 120_000);

  it("drives every filtered page from an index in seq order, with no full scan or sort of services", async () => {
    const viewer = { owner: "owner-3", admin: false };
    const filters: ServiceFilter[] = [
      {},
      { capability: ["llm_chat"] },
      { capability: ["tts"], tag: ["gpu"] },
      { tag: ["beta"] },
      { status: ["offline"] },
      { owner: "owner-7" },
      { type: ["agent"], status: ["active"], provider: "openai" },
      { visibility: "public", q: "service 12" },
    ];
    for (const filter of filters) {
      for (const afterSeq of [null, 50_000]) {
        const query = buildListQuery(filter, viewer, afterSeq, 101);
        const { rows } = await pool!.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values);
        const plan = rows[0]!["QUERY PLAN"][0].Plan;
        const all = nodes(plan);
        const label = `${JSON.stringify(filter)} after ${afterSeq}: ${JSON.stringify(all.map((node) => [node["Node Type"], node["Relation Name"] ?? node["Index Name"] ?? ""]))}`;
        expect(plan["Node Type"], label).toBe("Limit");
        expect(all.some((node) => node["Node Type"] === "Sort"), label).toBe(false);
        expect(all.some((node) => node["Node Type"] === "Seq Scan" && node["Relation Name"] === "services"), label).toBe(false);
      }
    }
  });

  it("updates a batch of existing records through the id index, as a custom and as a generic plan", async () => {
    // 300 existing records re-registered with new tags: the statement's `updated` part (no row is new) and term rows
    // added to existing seqs.
    const ids = Array.from({ length: 300 }, (_, i) => `svc-${1 + i * 331}`);
    const { rows } = await pool!.query<PgServiceRow>("SELECT seq, id, heartbeat_at, revision, doc FROM services WHERE id = ANY($1::text[])", [ids]);
    expect(rows).toHaveLength(ids.length);
    const stored = new Map<string, StoredService>(rows.map((row) => [row.id, storedOf(row)]));
    const plan = new ServiceBatchPlan(stored, 100_000);
    for (const id of ids) {
      const outcome = plan.apply({ kind: "write", write: { record: draft(id, { tags: ["fresh"] }), event: "updated" } });
      expect(outcome.ok).toBe(true);
    }
    const statement = plan.statements("kai_plans_test").at(-1)!;
    const client = await pool!.connect();
    try {
      await client.query(`PREPARE batch AS ${statement.text}`);
      const args = (statement.values as unknown[]).map((value) => (typeof value === "number" ? String(value) : client.escapeLiteral(String(value)))).join(", ");
      for (const mode of ["force_custom_plan", "force_generic_plan"]) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        const { rows: explained } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) EXECUTE batch(${args})`);
        const all = nodes(explained[0]!["QUERY PLAN"][0].Plan);
        const label = `${mode}: ${JSON.stringify(all.map((node) => [node["Node Type"], node["Relation Name"] ?? node["Index Name"] ?? ""]))}`;
        expect(all.some((node) => node["Node Type"] === "Index Scan" && node["Index Name"] === "services_id_key"), label).toBe(true);
        expect(all.some((node) => node["Node Type"] === "Seq Scan" && node["Relation Name"] === "services"), label).toBe(false);
      }
    } finally {
      client.release();
    }
  });
});
