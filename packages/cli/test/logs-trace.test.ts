/**
 * From an error to its trace's log lines, on a node with tracing on and a trace viewer named (`tracing.traceUrl`):
 * a failed command prints the request's trace id and the command that reads its lines; `kai logs tail --trace <id>`
 * prints that trace's lines only (an id in capitals is the same id) and where the trace is shown; an id that is not
 * one is a usage error. `kai logs search --trace <id>` finds the lines in the log files once the in-memory lines (what
 * `tail` reads) have moved on. `kai task show` names a task's trace and how to read its lines.
 */
import { describe, expect, it } from "vitest";
import { useCliNode } from "./helpers.js";

const node = useCliNode({ scopes: ["services:read"], config: { tracing: { enabled: true, traceUrl: "https://jaeger.example/trace/{traceId}" } } });
/** `kai` as the node's admin (the log lines are an admin's to read). */
const kai = (args: string[]) => node.kai(args, { token: node.server.adminToken });

describe("kai logs tail --trace and kai logs search", () => {
  it("reads the lines of the trace a failed command names", async () => {
    const failed = await kai(["services", "get", "cli-trace-missing"]);
    expect(failed.code).toBe(3);
    const named = /^ {2}trace id: ([0-9a-f]{32}) \(kai logs tail --trace \1\)$/m.exec(failed.stderr);
    expect(named, failed.stderr).not.toBeNull();
    const traceId = named![1]!;
    // Another request, in another trace: not among the lines.
    expect((await fetch(`${node.server.url}/api/services/cli-trace-other`, { headers: { authorization: `Bearer ${node.server.adminToken}` } })).status).toBe(404);

    const tail = await kai(["logs", "tail", "--no-follow", "--trace", traceId.toUpperCase()]);
    expect(tail.code, tail.stderr).toBe(0);
    const lines = tail.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.includes(`trace_id=${traceId}`))).toBe(true);
    expect(tail.stdout).toMatch(/request \[\S+\] .*route=\/api\/services\/:id .*status=404/);
    expect(tail.stdout).not.toContain("cli-trace-other");
    expect(tail.stderr).toContain(`trace ${traceId}: https://jaeger.example/trace/${traceId}`);
  });

  it("kai logs search finds a trace's lines in the log files once the in-memory lines have moved on", async () => {
    const failed = await kai(["services", "get", "cli-trace-older"]);
    const traceId = /trace id: ([0-9a-f]{32})/.exec(failed.stderr)![1]!;
    // More lines than the node keeps in memory (2,000): the failed request's line leaves the live view.
    for (let sent = 0; sent < 2100; sent += 50) {
      await Promise.all(Array.from({ length: 50 }, () => fetch(`${node.server.url}/api/services?limit=1`, { headers: { authorization: `Bearer ${node.server.adminToken}` } }).then((response) => response.arrayBuffer())));
    }
    const tail = await kai(["logs", "tail", "--no-follow", "--trace", traceId]);
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout).toBe("");
    expect(tail.stderr).toContain("no log lines match");

    const search = await kai(["logs", "search", "--trace", traceId, "--since", "1h"]);
    expect(search.code, search.stderr).toBe(0);
    expect(search.stdout).toMatch(new RegExp(`^\\S+ INFO  request \\[\\S+\\] trace_id=${traceId} .*path=/api/services/cli-trace-older status=404`, "m"));
    expect(search.stdout.trim().split("\n").every((line) => line.includes(`trace_id=${traceId}`))).toBe(true);
    expect(search.stderr).toContain(`trace ${traceId}: https://jaeger.example/trace/${traceId}`);
    expect(search.stderr).toMatch(/\d+ line\(s\) from the log files of \S+ \(\d+ file\(s\), [\d.]+ MiB read\)/);

    const bad = await kai(["logs", "search", "--until", "yesterday-ish"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--until: a duration such as 10m");
  });

  it("kai task show names a task's trace, and kai logs search --task finds its lines", async () => {
    const TASK_TRACE = "5cf92f3577b34da6a3ce929d0e0e4735";
    const created = await fetch(`${node.server.url}/api/agent/task`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.server.adminToken}`, "content-type": "application/json", traceparent: `00-${TASK_TRACE}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ goal: "a traced task", plan: { goal: "a traced task", steps: [{ id: "only", capability: "nobody_serves_this" }] } }),
    });
    expect(created.status).toBe(202);
    const taskId = ((await created.json()) as { task: { id: string } }).task.id;
    const show = await kai(["task", "show", taskId]);
    expect(show.stdout).toMatch(new RegExp(`^trace: +${TASK_TRACE} \\(its log lines: kai logs search --task ${taskId}\\)$`, "m"));
    const lines = await kai(["logs", "search", "--task", taskId, "--since", "1h"]);
    expect(lines.code, lines.stderr).toBe(0);
    const found = lines.stdout.trim().split("\n");
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((line) => line.includes(`taskId=${taskId}`))).toBe(true);
  });

  it("refuses an id that is not a trace id, naming the flag's field", async () => {
    const bad = await kai(["logs", "tail", "--no-follow", "--trace", "not-a-trace"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--trace: a trace id: 32 lowercase hex digits");
  });
});
