/**
 * @module test/install/monitoring-files
 * The monitoring files an operator loads (deploy/prometheus/kai-alerts.yml, deploy/grafana/kai-dashboard.json) and
 * the metrics reference (docs/operations/metrics.md) agree with the node they watch:
 * - Prometheus's own tool checks the alert rules and runs their unit tests (kai-alerts.test.yml: each alert fires on
 *   what it watches for and stays quiet on a healthy node), and parses every dashboard query (each one written into a
 *   scratch rules file, the only way promtool parses a bare expression);
 * - every kai_* series the alerts and the dashboard read is one a real node exports at /metrics, so renaming a metric
 *   fails here rather than leaving an alert that can never fire;
 * - every kai_* series the node exports is in the reference, and the reference names none it does not export;
 * - a real Prometheus server, configured as the reference says (a metrics:read token in a file), scrapes a real node
 *   and loads the rules.
 * promtool and prometheus come with Debian's `prometheus` package, which `.ci/run` installs.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingPart } from "../helpers/real-parts.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { freePort } from "../helpers/server-process.js";
import { waitFor } from "../cluster/support.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), "utf8");
const ALERTS = "deploy/prometheus/kai-alerts.yml";
const DASHBOARD = "deploy/grafana/kai-dashboard.json";
const REFERENCE = "docs/operations/metrics.md";

/** A program of Prometheus's (`promtool`, `prometheus`), from the PATH or Debian's /usr/bin; null when there is none. */
function findProgram(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/bin"]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const HOW_TO_GET = "install Debian's `prometheus` package (`apt-get install prometheus`), or put its programs on the PATH";
const promtool = findProgram("promtool");
const promtoolMissing = promtool === null ? missingPart("Prometheus's promtool", HOW_TO_GET) : null;
const prometheus = findProgram("prometheus");
const prometheusMissing = prometheus === null ? missingPart("the Prometheus server", HOW_TO_GET) : null;

/** promtool's exit code and what it printed. */
function runPromtool(args: string[], cwd: string): { status: number | null; output: string } {
  const run = spawnSync(promtool!, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: run.status, output: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}

const DashboardSchema = z.looseObject({
  uid: z.string().min(1),
  title: z.string().min(1),
  panels: z.array(
    z.looseObject({
      type: z.string(),
      title: z.string().min(1),
      targets: z.array(z.looseObject({ refId: z.string(), expr: z.string().min(1) })).optional(),
    }),
  ),
});

/** Every query of the dashboard, with Grafana's interval variable as Prometheus would get it. */
function dashboardQueries(): string[] {
  const dashboard = DashboardSchema.parse(JSON.parse(read(DASHBOARD)));
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr.replaceAll("$__rate_interval", "5m")));
}

const AlertsSchema = z.strictObject({ groups: z.array(z.looseObject({ rules: z.array(z.looseObject({ alert: z.string(), expr: z.string() })) })) });

function alertExpressions(): string[] {
  return AlertsSchema.parse(parseYaml(read(ALERTS))).groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

/** The metric families (names without a histogram's `_bucket`/`_sum`/`_count`) a PromQL text reads. */
function familiesIn(expression: string): Set<string> {
  return new Set([...expression.matchAll(/\bkai_[a-z0-9_]+\b/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, "")));
}

/** The `# TYPE` families of an exposition. */
function exportedFamilies(exposition: string): Set<string> {
  return new Set([...exposition.matchAll(/^# TYPE (kai_[a-z0-9_]+) /gm)].map(([, name]) => name!));
}

describe.skipIf(promtoolMissing !== null)("the alert rules and the dashboard, checked by Prometheus's promtool", () => {
  it("promtool checks the alert rules and passes their unit tests", () => {
    const dir = join(root, "deploy/prometheus");
    const checked = runPromtool(["check", "rules", "kai-alerts.yml"], dir);
    expect(checked.status, checked.output).toBe(0);
    expect(checked.output).toMatch(/SUCCESS: \d+ rules found/);
    const tested = runPromtool(["test", "rules", "kai-alerts.test.yml"], dir);
    expect(tested.status, tested.output).toBe(0);
  });

  it("promtool parses every dashboard query", () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), "kai-dashboard-queries-"));
    try {
      const rules = { groups: [{ name: "dashboard", rules: queries.map((expr, index) => ({ record: `kai_dashboard:query_${index}`, expr })) }] };
      writeFileSync(join(dir, "queries.yml"), toYaml(rules));
      const checked = runPromtool(["check", "rules", "queries.yml"], dir);
      expect(checked.status, checked.output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the alert rules, the dashboard and the metrics reference name what a node exports", () => {
  let server: TestServer;
  let exported: Set<string>;

  beforeAll(async () => {
    server = await startTestServer();
    const response = await server.request("/metrics", { token: await mintToken(server, ["metrics:read"]) });
    expect(response.status).toBe(200);
    exported = exportedFamilies(await response.text());
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("every kai_* series an alert or a dashboard query reads is exported", () => {
    const used = new Set([...alertExpressions(), ...dashboardQueries()].flatMap((expression) => [...familiesIn(expression)]));
    // Not vacuous: the node's, the gateway's, the vault's, the cluster's, the backups' and the process's series.
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((family) => !exported.has(family))).toEqual([]);
  });

  it("the reference documents every kai_* series the node exports, and no other", () => {
    const reference = read(REFERENCE);
    const documented = new Set([...reference.matchAll(/`(kai_[a-z0-9_]+)`/g)].map(([, name]) => name!));
    // The runtime's series (prom-client's defaults: kai_process_*, kai_nodejs_*) are documented as a group.
    const own = [...exported].filter((family) => !/^kai_(process|nodejs)_/.test(family));
    expect(own.length).toBeGreaterThan(15);
    expect(own.filter((family) => !documented.has(family))).toEqual([]);
    const runtimeNamed = [...documented].filter((family) => /^kai_(process|nodejs)_/.test(family));
    expect([...documented].filter((family) => !exported.has(family) && !runtimeNamed.includes(family))).toEqual([]);
    expect(runtimeNamed.filter((family) => !exported.has(family))).toEqual([]);
  });
});

describe.skipIf(prometheusMissing !== null)("a real Prometheus, configured as docs/operations/metrics.md says", () => {
  it("scrapes a node with a metrics:read token read from a file, and loads the alert rules", async () => {
    const server = await startTestServer();
    const dir = mkdtempSync(join(tmpdir(), "kai-prometheus-"));
    const port = await freePort();
    let child: ReturnType<typeof spawn> | undefined;
    try {
      writeFileSync(join(dir, "kai.token"), await mintToken(server, ["metrics:read"], "prometheus"));
      writeFileSync(join(dir, "kai-alerts.yml"), read(ALERTS));
      const target = new URL(server.url).host;
      // The reference's scrape job, with a short interval for the test.
      const config = {
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: ["kai-alerts.yml"],
        scrape_configs: [{ job_name: "kai", authorization: { credentials_file: join(dir, "kai.token") }, static_configs: [{ targets: [target] }] }],
      };
      writeFileSync(join(dir, "prometheus.yml"), toYaml(config));
      child = spawn(prometheus!, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { cwd: dir, stdio: "ignore" });
      const api = async (path: string): Promise<unknown> => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => null);
        return response?.ok ? ((await response.json()) as { data: unknown }).data : null;
      };
      const QuerySchema = z.object({ result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) });
      const query = async (expr: string) => QuerySchema.parse((await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) ?? { result: [] }).result;
      // Scraped: up, and the node's own series with the job's labels.
      const up = await waitFor("Prometheus scraped the node", async () => {
        const result = await query('up{job="kai"}');
        return result.length > 0 && result[0]!.value[1] === "1" ? result : null;
      }, 30_000);
      expect(up[0]!.metric["instance"]).toBe(target);
      expect((await query("kai_cluster_leader"))[0]?.value[1]).toBe("1");
      expect((await query("kai_vault_locked"))[0]?.value[1]).toBe("0");
      // The rules loaded and evaluate without error; none fires on a healthy node.
      const RulesSchema = z.object({ groups: z.array(z.object({ rules: z.array(z.looseObject({ name: z.string(), health: z.string(), state: z.string().optional() })) })) });
      const rules = await waitFor("the rules evaluated", async () => {
        const loaded = RulesSchema.safeParse(await api("/api/v1/rules"));
        const all = loaded.success ? loaded.data.groups.flatMap((group) => group.rules) : [];
        return all.length > 0 && all.every((rule) => rule.health === "ok") ? all : null;
      }, 30_000);
      expect(rules.map((rule) => rule.name)).toEqual(AlertsSchema.parse(parseYaml(read(ALERTS))).groups.flatMap((group) => group.rules.map((rule) => rule.alert)));
      expect(rules.filter((rule) => rule.state !== "inactive").map((rule) => rule.name)).toEqual([]);
    } finally {
      child?.kill("SIGTERM");
      if (child && child.exitCode === null) await new Promise((resolve) => child!.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
      await server.dispose();
    }
  }, 60_000);
});
