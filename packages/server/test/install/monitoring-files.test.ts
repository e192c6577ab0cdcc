/**
 * @module test/install/monitoring-files
 * The monitoring files an operator loads (deploy/prometheus/kai-alerts.yml, deploy/grafana/kai-dashboard.json) and
 * the metrics reference (docs/operations/metrics.md) agree with the node they watch:
 * - Prometheus's own tool checks the alert rules and runs their unit tests (kai-alerts.test.yml: each alert fires on
 *   what it watches for and stays quiet on a healthy node), and parses every dashboard query (each one written into a
 *   scratch rules file, the only way promtool parses a bare expression);
 * - every kai_* series the alerts and the dashboard read is one a real node exports at /metrics, so renaming a metric
 *   fails here rather than leaving an alert that can never fire;
 * - every kai_* series the node exports is in the reference, and the reference names none it does not export.
 * promtool comes with Debian's `prometheus` package, which `.ci/run` installs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingPart } from "../helpers/real-parts.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), "utf8");
const ALERTS = "deploy/prometheus/kai-alerts.yml";
const DASHBOARD = "deploy/grafana/kai-dashboard.json";
const REFERENCE = "docs/operations/metrics.md";

/** `promtool`, from the PATH or Debian's /usr/bin; null when there is none. */
function findPromtool(): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/bin"]) {
    if (existsSync(join(dir, "promtool"))) return join(dir, "promtool");
  }
  return null;
}

const promtool = findPromtool();
const promtoolMissing = promtool === null ? missingPart("Prometheus's promtool", "install Debian's `prometheus` package (`apt-get install prometheus`), or put promtool on the PATH") : null;

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
