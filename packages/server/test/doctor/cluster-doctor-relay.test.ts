/**
 * The doctor relay at the edges the two-instance test on PostgreSQL (test/cluster/doctor-instances.test.ts) does not
 * reach: three instances answer one ask, a report too long for one signal arrives whole and in order, an instance that
 * never answers is named once the wait is over, one that fails to check itself is named too, and answers to another
 * ask are not mixed in. The instances talk over the in-process signal bus (test/helpers/signal-bus.ts).
 */
import { describe, expect, it } from "vitest";
import type { DoctorCheck, DoctorReport } from "@kai/protocol";
import { ClusterDoctorRelay } from "../../src/doctor/cluster-doctor-relay.js";
import { doctorAnswer } from "../../src/doctor/node-doctor.js";
import { signalBus } from "../helpers/signal-bus.js";

const quiet = { warn: () => undefined };

function report(instance: string, checks: DoctorCheck[]): DoctorReport {
  const state = checks.some((check) => check.state === "fail") ? "fail" : checks.some((check) => check.state === "warn") ? "warn" : "ok";
  return { checkedAt: "2026-12-07T10:00:00.000Z", instance, state, checks };
}

/** Instances on one bus, each checking itself with `checks[name]` (a function that throws: its check fails). */
function cluster(checks: Record<string, () => Promise<DoctorReport>>, silent: string[] = []) {
  const bus = signalBus();
  const members = [...Object.keys(checks), ...silent].map((name) => ({ instanceId: `id-${name}`, name }));
  const relays = new Map<string, ClusterDoctorRelay>();
  for (const [name, checkSelf] of Object.entries(checks)) {
    relays.set(name, new ClusterDoctorRelay({ instanceId: `id-${name}`, members: async () => members, signals: bus.signalsFor(`id-${name}`) }, checkSelf, quiet));
  }
  return { relays, published: bus.published };
}

const ok = (area: DoctorCheck["area"], summary: string): DoctorCheck => ({ area, state: "ok", summary });

describe("ClusterDoctorRelay", () => {
  it("gathers every other instance's report, and the answer's state is the worst of all", async () => {
    const { relays } = cluster({
      a: async () => report("a", [ok("disk", "a's disk")]),
      b: async () => report("b", [ok("disk", "b's disk"), { area: "tls", state: "warn", summary: "expires in 9 days", hint: "renew it" }]),
      c: async () => report("c", [{ area: "logs", state: "fail", summary: "c's log file cannot be written" }]),
    });
    const others = await relays.get("a")!.others(5000);
    expect(others.unanswered).toEqual([]);
    expect(others.reports.map((each) => each.instance).sort()).toEqual(["b", "c"]);
    expect(others.reports.find((each) => each.instance === "b")!.checks).toEqual([ok("disk", "b's disk"), { area: "tls", state: "warn", summary: "expires in 9 days", hint: "renew it" }]);
    const answer = doctorAnswer(report("a", [ok("disk", "a's disk")]), others);
    expect(answer.state).toBe("fail");
    expect(answer.checks).toEqual([ok("disk", "a's disk")]);
  });

  it("carries a report longer than one signal whole and in order", async () => {
    // 40 checks of ~300 bytes: about 12 KB, three times what one signal carries; and one check far over the limit.
    const many: DoctorCheck[] = Array.from({ length: 40 }, (_, index) => ok("disk", `folder ${index}: ${"x".repeat(280)}`));
    // Three bytes a character in UTF-8: cut, it must still fit one signal.
    const huge: DoctorCheck = { area: "tls", state: "warn", summary: "y".repeat(10_000), hint: "€".repeat(10_000) };
    const { relays, published } = cluster({ a: async () => report("a", []), b: async () => report("b", [...many, huge]) });
    const before = published();
    const others = await relays.get("a")!.others(5000);
    expect(published() - before).toBeGreaterThan(3);
    const b = others.reports[0]!;
    expect(b.checks.slice(0, 40)).toEqual(many);
    // Cut to fit, and said to be cut.
    expect(b.checks[40]!.summary).toBe(`${"y".repeat(500)}…`);
    expect(b.checks[40]!.hint).toBe(`${"€".repeat(500)}…`);
    expect(b.state).toBe("warn");
  });

  it("names an instance that does not answer, or cannot check itself, once the wait is over", async () => {
    const { relays } = cluster({ a: async () => report("a", []), b: async () => Promise.reject(new Error("statfs failed")) }, ["silent"]);
    const started = Date.now();
    const others = await relays.get("a")!.others(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(others.reports).toEqual([]);
    expect(others.unanswered.sort()).toEqual(["b", "silent"]);
    // An instance that did not answer leaves the whole answer at least a warning: its checks are unknown.
    expect(doctorAnswer(report("a", [ok("disk", "fine")]), others).state).toBe("warn");
  });

  it("keeps two asks apart", async () => {
    let calls = 0;
    const { relays } = cluster({ a: async () => report("a", []), b: async () => report("b", [ok("disk", `b's answer ${++calls}`)]), c: async () => report("c", []) });
    const [fromA, fromC] = await Promise.all([relays.get("a")!.others(5000), relays.get("c")!.others(5000)]);
    expect(fromA.reports.map((each) => each.instance).sort()).toEqual(["b", "c"]);
    expect(fromC.reports.map((each) => each.instance).sort()).toEqual(["a", "b"]);
    // Each asker got one answer from b, to its own ask.
    expect(fromA.reports.filter((each) => each.instance === "b")).toHaveLength(1);
    expect(fromC.reports.filter((each) => each.instance === "b")).toHaveLength(1);
    expect(calls).toBe(2);
  });

  it("answers nothing more once closed", async () => {
    const { relays } = cluster({ a: async () => report("a", []), b: async () => report("b", []) });
    relays.get("b")!.close();
    const others = await relays.get("a")!.others(200);
    expect(others.unanswered).toEqual(["b"]);
  });
});
