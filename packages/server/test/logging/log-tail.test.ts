// The log ring behind GET /api/logs: bounded (the oldest line leaves), filters, subscribers, and the second line of
// defence that scrubs anything shaped like a token before a line is kept.
import { describe, expect, it } from "vitest";
import { LogTail, scrubSecrets } from "../../src/logging/log-tail.js";
import { belongsIn } from "../../src/logging/log-routing.js";

const line = (fields: Record<string, unknown>) => `${JSON.stringify({ level: 30, time: "2026-01-01T00:00:00.000Z", service: "kai", msg: "m", ...fields })}\n`;

describe("LogTail", () => {
  it("keeps only the newest `capacity` lines, numbered in order", () => {
    const tail = new LogTail(3);
    for (let index = 0; index < 5; index++) tail.write(line({ msg: `line ${index}` }));
    expect(tail.list().map((entry) => [entry.seq, entry.msg])).toEqual([[2, "line 2"], [3, "line 3"], [4, "line 4"]]);
    expect(tail.oldestSeq).toBe(2);
    expect(tail.latestSeq).toBe(4);
    expect(tail.list({ after: 3 }).map((entry) => entry.seq)).toEqual([4]);
    expect(tail.list({ limit: 1 }).map((entry) => entry.seq)).toEqual([4]);
  });

  it("filters by minimum level, request id and text, and drops what is not a JSON line", () => {
    const tail = new LogTail(10);
    tail.write(line({ level: 20, msg: "debugging" }));
    tail.write(line({ level: 40, msg: "careful", requestId: "r-1" }));
    tail.write("not json at all\n");
    tail.write(line({ level: 50, msg: "broken", route: "/api/Things" }));
    expect(tail.list().map((entry) => entry.level)).toEqual(["debug", "warn", "error"]);
    expect(tail.list({ level: "warn" }).map((entry) => entry.msg)).toEqual(["careful", "broken"]);
    expect(tail.list({ requestId: "r-1" }).map((entry) => entry.msg)).toEqual(["careful"]);
    expect(tail.list({ q: "/api/things" }).map((entry) => entry.msg)).toEqual(["broken"]);
    // Fields keep what the line said, without pino's constant ones.
    expect(tail.list({ q: "broken" })[0]!.fields).toEqual({ route: "/api/Things" });
  });

  it("filters by time: lines written at or after `since`, compared as instants (an offset in the filter counts)", () => {
    const tail = new LogTail(10);
    for (const [time, msg] of [["2026-12-07T09:59:59.999Z", "before"], ["2026-12-07T10:00:00.000Z", "at"], ["2026-12-07T10:30:00.000Z", "after"]]) tail.write(line({ time, msg }));
    expect(tail.list({ since: "2026-12-07T10:00:00.000Z" }).map((entry) => entry.msg)).toEqual(["at", "after"]);
    // The same instant written in another zone.
    expect(tail.list({ since: "2026-12-07T11:00:00+01:00" }).map((entry) => entry.msg)).toEqual(["at", "after"]);
    expect(tail.list({ since: "2026-12-07T10:00:00.001Z" }).map((entry) => entry.msg)).toEqual(["after"]);
  });

  it("filters by log: the lines the node also writes to logs/security or logs/agents, by the files' own rule", () => {
    const lines = [
      line({ msg: "plain" }),
      line({ msg: "signed in", category: "security", event: "sign_in" }),
      line({ msg: "step", taskId: "t-1" }),
      line({ msg: "planned", planId: "p-1", agent: "kPlanner" }),
      line({ msg: "both", category: "security", taskId: "t-2" }),
      // A quote in a value is escaped: text someone logged cannot pass for the key.
      line({ msg: 'said "category":"security"', note: '"taskId":"x"' }),
    ];
    const tail = new LogTail(10);
    for (const text of lines) tail.write(text);
    for (const log of ["security", "agents"] as const) {
      const expected = lines.filter((text) => belongsIn(log, text)).map((text) => (JSON.parse(text) as { msg: string }).msg);
      expect(tail.list({ log }).map((entry) => entry.msg), log).toEqual(expected);
    }
    expect(tail.list({ log: "security" }).map((entry) => entry.msg)).toEqual(["signed in", "both"]);
    expect(tail.list({ log: "agents" }).map((entry) => entry.msg)).toEqual(["step", "planned", "both"]);
  });

  it("tells subscribers of each new line until they unsubscribe", () => {
    const tail = new LogTail(2);
    const seen: string[] = [];
    const stop = tail.subscribe((entry) => seen.push(entry.msg));
    tail.write(line({ msg: "one" }));
    stop();
    tail.write(line({ msg: "two" }));
    expect(seen).toEqual(["one"]);
  });

  it("cuts an over-long line to its message", () => {
    const tail = new LogTail(2);
    tail.write(line({ msg: "big", blob: "x".repeat(20_000) }));
    expect(tail.list()[0]!.fields).toEqual({ truncated: true });
  });

  it("scrubs JWTs and bearer or basic credentials before keeping a line", () => {
    const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    expect(scrubSecrets(`token ${jwt} end`)).toBe("token [redacted] end");
    expect(scrubSecrets("Authorization: Bearer abcdefgh12345678")).toBe("Authorization: Bearer [redacted]");
    expect(scrubSecrets("basic dXNlcjpwYXNzd29yZA==")).toBe("basic [redacted]");
    const tail = new LogTail(2);
    tail.write(line({ msg: `said ${jwt}` }));
    expect(JSON.stringify(tail.list())).not.toContain(jwt.split(".")[2]);
  });
});
