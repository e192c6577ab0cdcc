/**
 * The relay's bounds, which the two-instances test on PostgreSQL (test/cluster/two-instances.test.ts) does not reach:
 * an answer cut to its newest lines says from when it is complete, a follower that writes faster than it may send
 * reports what it left out, a line too long for a signal is cut to its message, an instance that never answers is
 * named. The instances talk over an in-process signal bus with the contract's delivery rules and the real payload limit
 * (test/helpers/signal-bus.ts).
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { signalBus } from "../../test/helpers/signal-bus.js";
import { ClusterLogRelay, FLUSH_MS, type LogRelayCluster, type SearchOwnFiles } from "./cluster-log-relay.js";
import { LogTail } from "./log-tail.js";

interface Instance {
  relay: ClusterLogRelay;
  tail: LogTail;
  log(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Instances sharing one bus; `silent` ones are members that never answer (their relay is never built); `old` ones
 * predate `only`, `since`, `traceId` and `log` (they get asks without them, as their schema would strip them: they answer
 * every ask, with lines of any time).
 */
function cluster(names: string[], silent: string[] = [], old: string[] = [], searches: Record<string, SearchOwnFiles> = {}): { instances: Map<string, Instance>; published: () => number } {
  const bus = signalBus({
    alter(delivered, toInstanceId) {
      if (!old.includes(toInstanceId.slice(3))) return;
      delete delivered["only"];
      delete delivered["since"];
      delete delivered["traceId"];
      delete delivered["log"];
    },
  });
  const members = [...names, ...silent].map((name) => ({ instanceId: `id-${name}`, name }));
  const instances = new Map<string, Instance>();
  for (const name of names) {
    const instanceId = `id-${name}`;
    const view: LogRelayCluster = { instanceId, instanceName: name, members: async () => members, signals: bus.signalsFor(instanceId) };
    const tail = new LogTail(5000);
    let time = Date.parse("2026-12-07T00:00:00.000Z");
    // Lines as pino writes them, each a millisecond after the last, into this instance's tail.
    const log = (msg: string, fields: Record<string, unknown> = {}) =>
      tail.write(`${JSON.stringify({ level: 30, time: new Date(time++).toISOString(), msg, ...fields })}\n`);
    instances.set(name, { relay: new ClusterLogRelay(view, tail, pino({ level: "silent" }), searches[name]), tail, log });
  }
  return { instances, published: bus.published };
}

const pad = (n: number) => String(n).padStart(5, "0");

describe("ClusterLogRelay", () => {
  it("answers a list with another instance's matching lines, marked relayed and named", async () => {
    const { instances } = cluster(["a", "b"]);
    const [a, b] = [instances.get("a")!, instances.get("b")!];
    b.log("hello from b", { requestId: "r-1" });
    b.log("another request", { requestId: "r-2" });
    const answer = await a.relay.recent({ requestId: "r-1" }, 50);
    expect(answer.unanswered).toEqual([]);
    expect(answer.completeSince).toBeUndefined();
    expect(answer.entries.map((entry) => [entry.msg, entry.instance, entry.relayed])).toEqual([["hello from b", "b", true]]);
    a.relay.close();
    b.relay.close();
  });

  it("asks only the instances named, lists and follows theirs alone, and ignores answers it did not ask for", async () => {
    const { instances, published } = cluster(["a", "b", "c", "d"], [], ["d"]);
    const [a, b, c, d] = [instances.get("a")!, instances.get("b")!, instances.get("c")!, instances.get("d")!];
    const onlyC = await a.relay.membersNamed("c");
    expect(onlyC).toEqual([{ instanceId: "id-c", name: "c" }]);
    expect(await a.relay.membersNamed("a")).toEqual([]);
    expect(await a.relay.membersNamed("nobody")).toEqual([]);
    b.log("from b");
    c.log("from c");
    d.log("from d");
    const before = published();
    const answer = await a.relay.recent({}, 10, { only: onlyC! });
    expect(answer.unanswered).toEqual([]);
    // d (older) answered too, but only c's lines are listed.
    expect(answer.entries.map((entry) => `${entry.instance}:${entry.msg}`)).toEqual(["c:from c"]);
    // The ask, c's answer and d's: b published nothing.
    expect(published() - before).toBe(3);
    const heard: string[] = [];
    const stop = a.relay.follow({}, { lines: (entries) => heard.push(...entries.map((entry) => `${entry.instance}:${entry.msg}`)), skipped: () => undefined }, { only: onlyC! });
    await new Promise((resolve) => setTimeout(resolve, 50));
    b.log("b, later");
    c.log("c, later");
    d.log("d, later");
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 3));
    expect(heard).toEqual(["c:c, later"]);
    stop();
    for (const instance of [a, b, c, d]) instance.relay.close();
  });

  it("lists and follows lines since a time, from new instances and from ones that predate since (their older lines dropped)", async () => {
    const { instances } = cluster(["a", "b", "d"], [], ["d"]);
    const [a, b, d] = [instances.get("a")!, instances.get("b")!, instances.get("d")!];
    // Each instance's clock starts at 2026-12-07T00:00:00.000Z and moves a millisecond a line.
    for (const instance of [b, d]) {
      instance.log("early");
      instance.log("late");
    }
    const since = "2026-12-07T00:00:00.001Z";
    const answer = await a.relay.recent({ since }, 10);
    expect(answer.unanswered).toEqual([]);
    expect(answer.entries.map((entry) => `${entry.instance}:${entry.msg}`).sort()).toEqual(["b:late", "d:late"]);
    const heard: string[] = [];
    const stop = a.relay.follow({ since }, { lines: (entries) => heard.push(...entries.map((entry) => `${entry.instance}:${entry.msg}`)), skipped: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 50));
    b.log("later still");
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 3));
    expect(heard).toEqual(["b:later still"]);
    stop();
    for (const instance of [a, b, d]) instance.relay.close();
  });

  it("lists and follows one trace's lines, from new instances and from ones that predate traceId (other traces' lines dropped)", async () => {
    const { instances } = cluster(["a", "b", "d"], [], ["d"]);
    const [a, b, d] = [instances.get("a")!, instances.get("b")!, instances.get("d")!];
    const wanted = "4bf92f3577b34da6a3ce929d0e0e4736";
    const other = "0af7651916cd43dd8448eb211c80319c";
    for (const instance of [b, d]) {
      instance.log("in the trace", { trace_id: wanted, span_id: "00f067aa0ba902b7" });
      instance.log("in another trace", { trace_id: other, span_id: "b7ad6b7169203331" });
      instance.log("in no trace");
    }
    const answer = await a.relay.recent({ traceId: wanted }, 10);
    expect(answer.unanswered).toEqual([]);
    expect(answer.entries.map((entry) => `${entry.instance}:${entry.msg}`).sort()).toEqual(["b:in the trace", "d:in the trace"]);
    const heard: string[] = [];
    const stop = a.relay.follow({ traceId: wanted }, { lines: (entries) => heard.push(...entries.map((entry) => `${entry.instance}:${entry.msg}`)), skipped: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 50));
    d.log("later, elsewhere", { trace_id: other });
    d.log("later, in the trace", { trace_id: wanted });
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 3));
    expect(heard).toEqual(["d:later, in the trace"]);
    stop();
    for (const instance of [a, b, d]) instance.relay.close();
  });

  it("lists and follows one log's lines, from new instances and from ones that predate log (other lines dropped)", async () => {
    const { instances } = cluster(["a", "b", "d"], [], ["d"]);
    const [a, b, d] = [instances.get("a")!, instances.get("b")!, instances.get("d")!];
    for (const instance of [b, d]) {
      instance.log("sign-in failed", { category: "security", event: "sign_in_failed" });
      instance.log("step done", { taskId: "t-1" });
      instance.log("request");
    }
    const answer = await a.relay.recent({ log: "security" }, 10);
    expect(answer.unanswered).toEqual([]);
    expect(answer.entries.map((entry) => `${entry.instance}:${entry.msg}`).sort()).toEqual(["b:sign-in failed", "d:sign-in failed"]);
    expect((await a.relay.recent({ log: "agents" }, 10)).entries.map((entry) => `${entry.instance}:${entry.msg}`).sort()).toEqual(["b:step done", "d:step done"]);
    const heard: string[] = [];
    const stop = a.relay.follow({ log: "security" }, { lines: (entries) => heard.push(...entries.map((entry) => `${entry.instance}:${entry.msg}`)), skipped: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 50));
    d.log("later, a request");
    d.log("later, a vault read", { category: "security", event: "vault.access" });
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 3));
    expect(heard).toEqual(["d:later, a vault read"]);
    stop();
    for (const instance of [a, b, d]) instance.relay.close();
  });

  it("searches the other instances' files: each answers its matches and what it read; one without files answers none; a silent one is named", async () => {
    const line = (msg: string, time: string, traceId: string) => ({ seq: 7, time, level: "info" as const, msg, fields: { trace_id: traceId } });
    const wanted = "4bf92f3577b34da6a3ce929d0e0e4736";
    const asked: Array<{ instance: string; filter: unknown; limit: number }> = [];
    const searchOf = (instance: string, lines: ReturnType<typeof line>[], complete = true): SearchOwnFiles => async (filter, limit) => {
      asked.push({ instance, filter, limit });
      return { entries: lines, files: 2, scannedBytes: 1000, complete, ...(complete ? {} : { searchedFrom: "2026-12-06T00:00:00.000Z" }) };
    };
    const { instances } = cluster(["a", "b", "c"], ["silent"], [], {
      b: searchOf("b", [line("b's line", "2026-12-06T10:00:00.000Z", wanted)], false),
    });
    const a = instances.get("a")!;
    const found = await a.relay.search({ traceId: wanted }, 50, "2026-12-07T00:00:00.000Z", { waitMs: 300 });
    expect(found.entries.map((entry) => [entry.instance, entry.msg, entry.relayed])).toEqual([["b", "b's line", true]]);
    // b searched with the filter, the window's end and the limit; c has no files and answers an empty search.
    expect(asked).toEqual([{ instance: "b", filter: { traceId: wanted, until: "2026-12-07T00:00:00.000Z" }, limit: 50 }]);
    expect(found.searched.sort((x, y) => x.instance.localeCompare(y.instance))).toEqual([
      { instance: "b", files: 2, scannedBytes: 1000, complete: false, searchedFrom: "2026-12-06T00:00:00.000Z" },
      { instance: "c", files: 0, scannedBytes: 0, complete: true },
    ]);
    expect(found.unanswered).toEqual(["silent"]);
    for (const instance of instances.values()) instance.relay.close();
  });

  it("cuts a long answer to its newest lines and says from when the listing is complete", async () => {
    const { instances } = cluster(["a", "b"]);
    const [a, b] = [instances.get("a")!, instances.get("b")!];
    for (let i = 0; i < 1000; i++) b.log(`line ${pad(i)} ${"x".repeat(200)}`);
    const answer = await a.relay.recent({}, 1000);
    // Fewer than asked (the signals' room), the newest kept, in order, and the listing complete from the oldest sent.
    expect(answer.entries.length).toBeGreaterThan(50);
    expect(answer.entries.length).toBeLessThan(1000);
    expect(answer.entries.at(-1)!.msg).toContain("line 00999");
    const numbers = answer.entries.map((entry) => Number(/line (\d+)/.exec(entry.msg)![1]));
    expect(numbers).toEqual(numbers.map((_, index) => numbers[0]! + index));
    expect(answer.completeSince).toBe(answer.entries[0]!.time);
    a.relay.close();
    b.relay.close();
  });

  it("cuts a line too long for a signal to its message", async () => {
    const { instances } = cluster(["a", "b"]);
    const [a, b] = [instances.get("a")!, instances.get("b")!];
    b.log("x".repeat(3000), { big: "y".repeat(3000) });
    const [line] = (await a.relay.recent({}, 10)).entries;
    expect(line!.msg).toBe(`${"x".repeat(1000)}…`);
    expect(line!.fields).toEqual({ truncated: true });
    a.relay.close();
    b.relay.close();
  });

  it("names an instance that does not answer in time", async () => {
    const { instances } = cluster(["a"], ["gone"]);
    const answer = await instances.get("a")!.relay.recent({}, 10, { waitMs: 200 });
    expect(answer).toEqual({ entries: [], unanswered: ["gone"] });
    instances.get("a")!.relay.close();
  });

  it("lists none of the others' lines, and warns once, when the cluster's database cannot be reached", async () => {
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) });
    const down = new Error("connect ECONNREFUSED 127.0.0.1:5432");
    const relay = new ClusterLogRelay(
      { instanceId: "id-a", instanceName: "a", members: () => Promise.reject(down), signals: { publish: () => Promise.reject(down), subscribe: () => () => undefined } },
      new LogTail(10),
      logger,
    );
    expect(await relay.recent({}, 10)).toEqual({ entries: [], unanswered: [] });
    expect(await relay.recent({}, 10)).toEqual({ entries: [], unanswered: [] });
    expect(warnings).toEqual(["log lines could not be exchanged with the other instances; until they can, each shows its own"]);
    relay.close();
  });

  it("follows another instance's new matching lines, reports what a burst left out, and stops when told", async () => {
    const { instances, published } = cluster(["a", "b"]);
    const [a, b] = [instances.get("a")!, instances.get("b")!];
    const heard: string[] = [];
    const skipped: Array<[string, number]> = [];
    const stop = a.relay.follow({ level: "warn" }, { lines: (entries) => heard.push(...entries.map((entry) => `${entry.instance}:${entry.msg}`)), skipped: (instance, count) => skipped.push([instance, count]) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    b.log("not at warn");
    b.tail.write(`${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: "a warning on b" })}\n`);
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 3));
    expect(heard).toEqual(["b:a warning on b"]);
    // A burst of 2,000 lines between two flushes: some relayed, the rest counted, none lost without a word.
    for (let i = 0; i < 2000; i++) b.tail.write(`${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: `burst ${i} ${"z".repeat(100)}` })}\n`);
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 4));
    const burst = heard.filter((line) => line.startsWith("b:burst"));
    expect(burst.length).toBeGreaterThan(0);
    expect(burst.length + skipped.reduce((sum, [, count]) => sum + count, 0)).toBe(2000);
    expect(skipped.every(([instance]) => instance === "b")).toBe(true);
    stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = published();
    // Stopping again (a stream that ends, then is destroyed) tells nobody anything more.
    stop();
    b.tail.write(`${JSON.stringify({ level: 50, time: new Date().toISOString(), msg: "after the stop" })}\n`);
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS * 3));
    // b stopped sending once told (no flush published anything).
    expect(published()).toBe(before);
    expect(heard.some((line) => line.includes("after the stop"))).toBe(false);
    a.relay.close();
    b.relay.close();
  });
});
