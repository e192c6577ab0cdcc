/**
 * Two instances of one node on one real PostgreSQL, each a whole server (its own data dir, port and pool):
 * they must act as one node. Writes on either are visible on both at once; each one's watch stream carries the
 * other's changes in one revision order and resumes from a revision got on the other; heartbeats to either keep
 * a lease; a token revoked on one is refused by the other; a secret written on one is read on the other; both
 * are the same KLP node; `GET /api/cluster` shows both with exactly one leader, and closing the leader hands the
 * singleton jobs over. A runtime configuration change and a plugin enabled on one reach the other. Either shows both
 * instances' log lines (listed, live, through the SDK and `kai logs tail`).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { LogListResponseSchema, LogSearchResponseSchema, type ClusterResponse, type LogEntry, type LogStreamQueryInput } from "@kai/protocol";
import { createClient } from "@kai/sdk";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { mintToken, type TestServer } from "../helpers/test-server.js";
import { waitFor } from "./support.js";
import { sampleOf } from "../helpers/exposition.js";
import { startInstances, type Instances } from "./support/instances.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePlugin } from "../plugins/plugin-fixtures.js";

const pg: PostgresServer | null = await startPostgres();
const CLI = fileURLToPath(new URL("../../../cli/dist/main.js", import.meta.url));

// One plugin folder both instances read (each instance runs its plugins from its own disk; here it is the same folder).
const pluginsRoot = mkdtempSync(join(tmpdir(), "kai-two-instances-plugins-"));
makePlugin(pluginsRoot, "shout", { id: "shout", name: "Shout", entrypoint: "main.mjs", version: "1.0.0", capabilities: [{ name: "shout_text" }] }, {
  "main.mjs": "export default { capabilities: { shout_text: (text) => String(text).toUpperCase() } };\n",
});

interface Frame {
  type: string;
  event?: string;
  revision?: number;
  serviceId?: string;
  service?: { id: string; status?: string };
  epoch?: string;
}

/** A watch stream on one instance, collecting every frame. */
async function watch(server: TestServer, subscribe: Record<string, unknown>): Promise<{ frames: Frame[]; close(): void }> {
  const socket = new WebSocket(server.url.replace("http", "ws") + "/ws/registry", { headers: { authorization: `Bearer ${server.adminToken}` } });
  const frames: Frame[] = [];
  socket.on("message", (data: Buffer) => frames.push(JSON.parse(data.toString()) as Frame));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  socket.send(JSON.stringify({ type: "subscribe", ...subscribe }));
  return { frames, close: () => socket.close() };
}

/** The log lines a live stream on `instance` brings (through the SDK) until `stop`. */
async function followLogs(instance: TestServer, query: LogStreamQueryInput): Promise<{ heard: LogEntry[]; stop(): Promise<void> }> {
  const client = createClient({ url: instance.url, token: instance.adminToken });
  const controller = new AbortController();
  const stream = await client.logs.stream(query, { signal: controller.signal });
  const heard: LogEntry[] = [];
  const reading = (async () => {
    try {
      for await (const event of stream) if (event.type === "log") heard.push(event.entry);
    } catch {
      // aborted by stop()
    }
  })();
  return {
    heard,
    stop: async () => {
      controller.abort();
      await reading;
    },
  };
}

const changeRevisions = (frames: Frame[]) => frames.filter((f) => f.type === "event").map((f) => f.revision!);

describe.skipIf(!pg)("two instances on one PostgreSQL", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;

  beforeAll(async () => {
    // Both at once on an empty database: one creates the schema, the vault, the node key and the epoch; both agree.
    instances = await startInstances(pg!, {
      database: "cluster",
      start: "together",
      cluster: { heartbeatMs: 200, memberTimeoutMs: 1500, pollIntervalMs: 300 },
      // Tracing on without an exporter: ids are made, logged and answered (one trace's lines read from either instance).
      config: { registry: { sweepIntervalMs: 100, heartbeatFlushMs: 200 }, plugins: { paths: [pluginsRoot] }, tracing: { enabled: true, traceUrl: "https://jaeger.example/trace/{traceId}" } },
    });
    [a, b] = instances.servers as [TestServer, TestServer];
  }, 60_000);

  afterAll(async () => {
    await instances?.dispose();
    await pg?.stop();
    rmSync(pluginsRoot, { recursive: true, force: true });
  });

  test("a runtime configuration change and a plugin enabled on one instance reach the other", async () => {
    const patched = await a.request("/api/config", { method: "PATCH", json: { settings: { "rateLimit.read.max": 777 } } });
    expect(patched.status, await patched.clone().text()).toBe(200);
    await waitFor("the runtime change on the other instance", async () => {
      const explained = (await (await b.request("/api/config/explain?key=rateLimit.read.max")).json()) as { value: number; winner: string };
      return explained.value === 777 && explained.winner === "runtime";
    }, 10_000);
    const enabled = await a.request("/api/plugins/shout/enable", { method: "POST" });
    expect(enabled.status, await enabled.clone().text()).toBe(200);
    await waitFor("the plugin running on the other instance", async () => {
      const onB = (await (await b.request("/api/plugins/shout")).json()) as { runtime?: { state: string } };
      return onB.runtime?.state === "running";
    }, 10_000);
    const routed = (await (await b.request("/api/route/shout_text", { method: "POST", json: { request: "hi" } })).json()) as { response: unknown; servedBy: { id: string } };
    expect(routed).toMatchObject({ response: "HI", servedBy: { id: "plugin:shout" } });
    expect((await a.request("/api/config", { method: "PATCH", json: { settings: { "rateLimit.read.max": null } } })).status).toBe(200);
    expect((await b.request("/api/plugins/shout/disable", { method: "POST" })).status).toBe(200);
    await waitFor("the plugin stopped on the first instance", async () => ((await (await a.request("/api/plugins/shout")).json()) as { runtime?: { state: string } }).runtime?.state === "disabled", 10_000);
  });

  test("are one KLP node: one DID, and either's tokens work on both", async () => {
    const docA = (await (await fetch(`${a.url}/.well-known/klp.json`)).json()) as { did: string };
    const docB = (await (await fetch(`${b.url}/.well-known/klp.json`)).json()) as { did: string };
    expect(docA.did).toBe(docB.did);
    expect((await b.request("/api/status", { token: a.adminToken })).status).toBe(200);
  });

  test("a registration on one is read, listed and counted on the other at once", async () => {
    const created = await a.request("/api/services/register", { method: "POST", json: { id: "shared-1", name: "Shared", type: "service", capabilities: ["chat"] } });
    expect(created.status).toBe(201);
    const got = await b.request("/api/services/shared-1");
    expect(got.status).toBe(200);
    const listA = (await (await a.request("/api/services?capability=chat")).json()) as { services: Array<{ id: string }> };
    const listB = (await (await b.request("/api/services?capability=chat")).json()) as { services: Array<{ id: string }> };
    expect(listB.services.map((s) => s.id)).toEqual(listA.services.map((s) => s.id));
  });

  test("a bulk delete on one instance: each removal on the other's watch stream, in order, and gone there at once", async () => {
    const ids = ["bulk-gone-1", "bulk-gone-2", "bulk-gone-3"];
    const services = ids.map((id) => ({ id, name: id, type: "service", tags: ["bulk-gone"], ttl: 30 }));
    expect((await b.request("/api/services/bulk", { method: "POST", json: { services } })).status).toBe(200);
    const onB = await watch(b, { filter: { tag: ["bulk-gone"] } });
    await waitFor("the snapshot on B", async () => onB.frames.some((f) => f.type === "snapshot"), 10_000);
    const answer = await a.request("/api/services/bulk-delete", { method: "POST", json: { ids: [ids[2], "bulk-never", ids[0], ids[1]] } });
    expect(answer.status).toBe(200);
    const { results, revision } = (await answer.json()) as { results: Array<{ action: string }>; revision: number };
    expect(results.map((result) => result.action)).toEqual(["removed", "absent", "removed", "removed"]);
    for (const id of ids) expect((await b.request(`/api/services/${id}`)).status).toBe(404);
    await waitFor("three removals on B", async () => onB.frames.filter((f) => f.type === "event").length >= 3, 10_000);
    const events = onB.frames.filter((f) => f.type === "event");
    expect(events.map((f) => [f.event, f.serviceId])).toEqual([["deregistered", ids[2]], ["deregistered", ids[0]], ["deregistered", ids[1]]]);
    expect(events.map((f) => f.revision)).toEqual([revision - 2, revision - 1, revision]);
    onB.close();
  });

  test("each watch stream carries changes made on either instance, in one revision order, and resumes across instances", async () => {
    const onB = await watch(b, {});
    await waitFor("the snapshot on B", async () => onB.frames.some((f) => f.type === "snapshot"), 10_000);
    for (let i = 0; i < 5; i++) {
      const target = i % 2 === 0 ? a : b;
      expect((await target.request("/api/services/register", { method: "POST", json: { id: `w-${i}`, name: `W${i}`, type: "service" } })).status).toBe(201);
    }
    await waitFor("five changes on B", async () => changeRevisions(onB.frames).length >= 5, 10_000);
    const revisions = changeRevisions(onB.frames);
    expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
    expect(new Set(revisions).size).toBe(revisions.length);
    onB.close();

    // Resume on A from a revision seen on B: exactly the changes after it, no gap, no duplicate. A change made after
    // B's stream closed may follow them (the node has writers of its own, and a CI run once saw one): after, once.
    const from = revisions[1]!;
    const expected = revisions.filter((r) => r > from);
    const onA = await watch(a, { fromRevision: from, epoch: onB.frames.find((f) => f.type === "snapshot")!.epoch });
    const resumed = await waitFor("resumed on A", async () => onA.frames.find((f) => f.type === "resumed"), 10_000);
    expect(resumed).toBeTruthy();
    const replayed = changeRevisions(onA.frames.slice(0, onA.frames.indexOf(resumed)));
    expect(replayed.slice(0, expected.length)).toEqual(expected);
    const later = replayed.slice(expected.length);
    expect(later.every((r) => r > revisions[revisions.length - 1]!)).toBe(true);
    expect([...replayed].sort((x, y) => x - y)).toEqual(replayed);
    expect(new Set(replayed).size).toBe(replayed.length);
    onA.close();
  });

  test("heartbeats to either instance keep a lease; without them it expires once", async () => {
    expect((await a.request("/api/services/register", { method: "POST", json: { id: "leased", name: "Leased", type: "service", ttl: 2 } })).status).toBe(201);
    const watcher = await watch(a, {});
    const until = Date.now() + 4_000;
    let turn = 0;
    while (Date.now() < until) {
      const target = turn++ % 2 === 0 ? b : a;
      expect((await target.request("/api/services/leased/heartbeat", { method: "POST", json: {} })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    expect(((await (await b.request("/api/services/leased")).json()) as { status: string }).status).toBe("active");
    // Now silence: it goes offline, once.
    await waitFor("the lease offline", async () => ((await (await a.request("/api/services/leased")).json()) as { status: string }).status === "offline", 15_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const offline = watcher.frames.filter((f) => f.type === "event" && f.event === "status_changed" && f.service?.status === "offline");
    expect(offline.length).toBe(1);
    watcher.close();
  });

  test("a token revoked on one instance is refused by the other", async () => {
    const token = await mintToken(a, ["services:read"]);
    expect((await b.request("/api/services", { token })).status).toBe(200);
    const list = (await (await a.request("/api/tokens")).json()) as { tokens: Array<{ id: string; owner: string; revokedAt: string | null }> };
    const row = list.tokens.find((t) => t.owner === "alice" && t.revokedAt === null)!;
    expect((await a.request(`/api/tokens/${row.id}`, { method: "DELETE" })).status).toBe(204);
    await waitFor("the token refused on B", async () => (await b.request("/api/services", { token })).status === 401, 5_000);
  });

  test("a secret written on one is read on the other", async () => {
    expect((await a.request("/api/vault/secrets/shared-secret", { method: "PUT", json: { value: "s3cret-value" } })).status).toBeLessThan(300);
    const read = await b.request("/api/vault/secrets/shared-secret");
    expect(read.status).toBe(200);
    expect(((await read.json()) as { value: string }).value).toBe("s3cret-value");
  });

  test("the log lines of both instances are read from either: listed, followed live, through the SDK and kai logs tail", async () => {
    // A request served by b, named by the caller's request id: found from a, relayed and naming b.
    const requestId = `two-instances-${Date.now()}`;
    expect((await b.request("/api/services/no-such-service", { headers: { "x-request-id": requestId } })).status).toBe(404);
    const listed = await waitFor("b's line listed on a", async () => {
      const body = LogListResponseSchema.parse(await (await a.request(`/api/logs?requestId=${requestId}`)).json());
      return body.entries.length > 0 ? body : null;
    }, 10_000);
    expect(listed.entries.every((entry) => entry.instance === "b" && entry.relayed === true && entry.requestId === requestId)).toBe(true);
    expect(listed.unanswered).toEqual([]);
    // Only a's own: none of b's; a's own lines carry a's name and are not relayed.
    expect(LogListResponseSchema.parse(await (await a.request(`/api/logs?requestId=${requestId}&instances=this`)).json()).entries).toEqual([]);
    const ownId = `${requestId}-a`;
    expect((await a.request("/api/services/no-such-service", { headers: { "x-request-id": ownId } })).status).toBe(404);
    const own = LogListResponseSchema.parse(await (await a.request(`/api/logs?requestId=${ownId}`)).json()).entries;
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((entry) => entry.instance === "a" && entry.relayed === undefined)).toBe(true);

    // Live, through the SDK: a stream opened on a hears a request b serves afterwards (b follows once it is told).
    const live = await followLogs(a, { serviceId: "live-on-b" });
    await waitFor("b's line streamed on a", async () => {
      await b.request("/api/services/live-on-b");
      return live.heard.some((entry) => entry.instance === "b" && entry.relayed === true && entry.fields.serviceId === "live-on-b") ? true : null;
    }, 10_000);
    await live.stop();

    // kai logs tail, as an operator runs it against a: b's line with b's name; --this-instance leaves it out.
    const env = { ...process.env, KAI_URL: a.url, KAI_TOKEN: a.adminToken, KAI_CONFIG_DIR: mkdtempSync(join(tmpdir(), "kai-logs-cli-")) };
    const tail = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile(process.execPath, [CLI, "logs", "tail", "--no-follow", "--request", requestId, ...args], { env }, (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout }));
      });
    const all = await tail([]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^\\S+ INFO  @b .*\\[${requestId}\\]`, "m"));
    const mine = await tail(["--this-instance"]);
    expect(mine.code).toBe(0);
    expect(mine.stdout).toBe("");

    // One trace's lines, whichever instance served its requests: the id from b's error, read from a.
    const traced = await b.request("/api/services/no-such-service", { headers: { traceparent: "00-8bf92f3577b34da6a3ce929d0e0e4739-00f067aa0ba902b7-01" } });
    const traceId = ((await traced.json()) as { error: { traceId?: string } }).error.traceId;
    expect(traceId).toBe("8bf92f3577b34da6a3ce929d0e0e4739");
    const ofTrace = await waitFor("b's traced line listed on a", async () => {
      const body = LogListResponseSchema.parse(await (await a.request(`/api/logs?traceId=${traceId}`)).json());
      return body.entries.length > 0 ? body : null;
    }, 10_000);
    expect(ofTrace.entries.every((entry) => entry.instance === "b" && entry.fields.trace_id === traceId)).toBe(true);
    const byTrace = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, "logs", "tail", "--no-follow", "--trace", traceId!.toUpperCase()], { env }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(byTrace.code).toBe(0);
    expect(byTrace.stdout).toMatch(new RegExp(`^\\S+ INFO  @b .*trace_id=${traceId}`, "m"));
    expect(byTrace.stdout.split("\n").filter(Boolean).every((line) => line.includes(`trace_id=${traceId}`))).toBe(true);
    expect(byTrace.stderr).toContain(`trace ${traceId}: https://jaeger.example/trace/${traceId}`);
    // The same trace in the log files: a's search reaches b's files through the cluster.
    const inFiles = LogSearchResponseSchema.parse(await (await a.request(`/api/logs/search?traceId=${traceId}`)).json());
    expect(inFiles.entries.length).toBeGreaterThan(0);
    expect(inFiles.entries.every((entry) => entry.instance === "b" && entry.relayed === true && entry.fields.trace_id === traceId)).toBe(true);
    expect(inFiles.searched?.map((each) => each.instance).sort()).toEqual(["a", "b"]);
    expect(inFiles.unanswered).toEqual([]);
    expect(LogSearchResponseSchema.parse(await (await a.request(`/api/logs/search?traceId=${traceId}&instances=this`)).json()).entries).toEqual([]);
    const searched = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, "logs", "search", "--trace", traceId!], { env }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(searched.code, searched.stderr).toBe(0);
    expect(searched.stdout).toMatch(new RegExp(`^\\S+ INFO  @b .*trace_id=${traceId}`, "m"));
    expect(searched.stderr).toMatch(/from the log files of (a, b|b, a) /);

    // The security log's lines, whichever instance wrote them: a failed sign-in on b (traced, so that its line is
    // known by its trace: an unknown user's name is not logged), read from a, live and in the files.
    const signInTrace = "9bf92f3577b34da6a3ce929d0e0e4731";
    const signIn = await b.request("/api/auth/login", { method: "POST", token: null, json: { username: `nobody-${Date.now()}`, password: "not the password" }, headers: { traceparent: `00-${signInTrace}-00f067aa0ba902b7-01` } });
    expect(signIn.status).toBe(401);
    const security = await waitFor("b's security line listed on a", async () => {
      const body = LogListResponseSchema.parse(await (await a.request("/api/logs?log=security&limit=1000")).json());
      return body.entries.some((entry) => entry.fields.trace_id === signInTrace) ? body : null;
    }, 10_000);
    expect(security.entries.every((entry) => entry.fields.category === "security")).toBe(true);
    expect(security.entries.find((entry) => entry.fields.trace_id === signInTrace)).toMatchObject({ instance: "b", relayed: true, fields: { event: "sign_in_failed" } });
    // The request line of the same trace is the system log's only.
    await waitFor("the sign-in's request line on a", async () => {
      const { entries } = LogListResponseSchema.parse(await (await a.request(`/api/logs?traceId=${signInTrace}`)).json());
      return entries.some((entry) => entry.msg === "request") ? true : null;
    }, 10_000);
    expect(LogListResponseSchema.parse(await (await a.request(`/api/logs?log=security&traceId=${signInTrace}`)).json()).entries.map((entry) => entry.msg)).toEqual(["security: sign_in_failed"]);
    const securityFiles = LogSearchResponseSchema.parse(await (await a.request(`/api/logs/search?log=security&traceId=${signInTrace}`)).json());
    expect(securityFiles.entries.map((entry) => [entry.instance, entry.fields.event])).toEqual([["b", "sign_in_failed"]]);

    // A live member that never answers: named, and the others' lines still listed.
    const removeSilent = await instances!.addSilentMember("silent");
    try {
      const partial = LogListResponseSchema.parse(await (await a.request(`/api/logs?requestId=${requestId}`)).json());
      expect(partial.unanswered).toEqual(["silent"]);
      expect(partial.entries.some((entry) => entry.instance === "b")).toBe(true);
      const warned = await new Promise<{ stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, "logs", "tail", "--no-follow", "--request", requestId], { env }, (_error, _stdout, stderr) => resolve({ stderr }));
      });
      expect(warned.stderr).toContain("no lines from silent: the instance(s) did not answer in time");
    } finally {
      await removeSilent();
    }
  });

  test("one instance's log lines are read by its name from either instance: listed, followed live, and with kai logs tail --instance", async () => {
    const requestId = `by-name-${Date.now()}`;
    expect((await b.request("/api/services/no-such-service", { headers: { "x-request-id": requestId } })).status).toBe(404);
    expect((await a.request("/api/services/no-such-service", { headers: { "x-request-id": `${requestId}-a` } })).status).toBe(404);
    const logs = async (query: string) => LogListResponseSchema.parse(await (await a.request(`/api/logs?${query}`)).json());
    // b's, from a: relayed and named. A live member that never answers is not asked, so nothing waits for it.
    const removeSilent = await instances!.addSilentMember("silent");
    try {
      const onB = await waitFor("b's line listed by name on a", async () => {
        const body = await logs(`q=${requestId}&instance=b`);
        return body.entries.length > 0 ? body : null;
      }, 10_000);
      expect(onB.entries.every((entry) => entry.instance === "b" && entry.relayed === true && entry.requestId === requestId)).toBe(true);
      expect(onB.unanswered).toEqual([]);
      // a's own by its own name: a's lines only (the `q` matches both request ids).
      const onA = await logs(`q=${requestId}&instance=a`);
      expect(onA.entries.length).toBeGreaterThan(0);
      expect(onA.entries.every((entry) => entry.instance === "a" && entry.relayed === undefined && entry.requestId === `${requestId}-a`)).toBe(true);
    } finally {
      await removeSilent();
    }
    const unknown = await a.request("/api/logs?instance=nobody");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");

    // Live, through the SDK: b's new lines, none of a's.
    const live = await followLogs(a, { serviceId: "only-b", instance: "b" });
    await waitFor("b's line streamed by name on a", async () => {
      await a.request("/api/services/only-b");
      await b.request("/api/services/only-b");
      return live.heard.some((entry) => entry.instance === "b" && entry.fields.serviceId === "only-b") ? true : null;
    }, 10_000);
    await live.stop();
    expect(live.heard.every((entry) => entry.instance === "b")).toBe(true);

    // kai logs tail --instance: b's lines; a name no live instance has is "not found" (exit 3); with --this-instance, a usage error.
    const env = { ...process.env, KAI_URL: a.url, KAI_TOKEN: a.adminToken, KAI_CONFIG_DIR: mkdtempSync(join(tmpdir(), "kai-logs-cli-")) };
    const tail = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, "logs", "tail", "--no-follow", "--grep", requestId, ...args], { env }, (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const named = await tail(["--instance", "b"]);
    expect(named.code).toBe(0);
    expect(named.stdout).toMatch(new RegExp(`^\\S+ INFO  @b .*\\[${requestId}\\]`, "m"));
    expect(named.stdout).not.toContain("@a ");
    const missing = await tail(["--instance", "nobody"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no live instance is named "nobody"');
    expect((await tail(["--instance", "b", "--this-instance"])).code).toBe(2);
  });

  test("GET /api/cluster shows both instances, exactly one leader, and the leader's jobs move when it leaves", async () => {
    const view = await waitFor("both instances listed", async () => {
      const body = (await (await a.request("/api/cluster")).json()) as ClusterResponse;
      return body.instances.length === 2 ? body : null;
    }, 10_000);
    expect(view.mode).toBe("postgres");
    expect(view.instances.filter((i) => i.leader)).toHaveLength(1);
    const leader = view.instances.find((i) => i.leader)!;
    expect(leader.jobs).toEqual(expect.arrayContaining(["lease-sweeps", "health-checks", "event-compaction"]));
    expect(view.instances.find((i) => !i.leader)!.jobs).toEqual([]);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    // What Prometheus reads (the "no leader" alert): each sees two instances, and exactly one says it leads.
    const scraped = await Promise.all([a, b].map(async (instance) => (await instance.request("/metrics")).text()));
    expect(scraped.map((text) => sampleOf(text, "kai_cluster_instances"))).toEqual([2, 2]);
    expect(scraped.map((text) => sampleOf(text, "kai_cluster_leader")).sort()).toEqual([0, 1]);
    expect(sampleOf(scraped[leader.name === "a" ? 0 : 1]!, "kai_cluster_leader")).toBe(1);

    const [leaving, staying] = leader.name === "a" ? [a, b] : [b, a];
    const epoch = view.leader!.epoch;
    await leaving.close();
    const after = await waitFor("the jobs moved", async () => {
      const body = (await (await staying.request("/api/cluster")).json()) as ClusterResponse;
      // The new leader starts its jobs one after another (health checks first read every record): wait for all three.
      const jobs = body.instances[0]?.jobs ?? [];
      const started = ["lease-sweeps", "health-checks", "event-compaction"].every((job) => jobs.includes(job as (typeof jobs)[number]));
      return body.leader && body.leader.epoch > epoch && body.instances.length === 1 && started ? body : null;
    }, 10_000);
    expect(after.instances[0]!.leader).toBe(true);
    expect(after.instances[0]!.jobs).toEqual(expect.arrayContaining(["lease-sweeps", "health-checks", "event-compaction"]));
  });
});
