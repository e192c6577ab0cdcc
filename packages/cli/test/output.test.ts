/**
 * Unit tests of the pure parts: table layout, exit-code mapping, manifest planning and the
 * "is this registration already in place" comparison.
 */
import { describe, expect, it } from "vitest";
import { ServiceRegistrationSchema, type ServiceRecord } from "@kai/protocol";
import { Writable } from "node:stream";
import { createOutput, detailPath, formatKeyValues, formatTable, terminalSafe } from "../src/output.js";
import { EXIT, exitCodeForApiCode } from "../src/exit-codes.js";
import { isUnchanged } from "../src/apply-manifest.js";
import { planManifest } from "../src/manifest-check/plan-entries.js";
import { CliError } from "../src/cli-error.js";

describe("formatTable", () => {
  it("aligns columns and leaves no trailing blanks", () => {
    expect(formatTable(["ID", "NAME"], [["a", "first"], ["long-id", "x"]])).toBe("ID       NAME\na        first\nlong-id  x\n");
    expect(formatTable(["A", "B"], [["x", ""]])).toBe("A  B\nx\n");
  });
});

describe("a table with no rows", () => {
  const capture = (quiet: boolean) => {
    const written = { out: "", err: "" };
    const stream = (key: "out" | "err") => new Writable({ write: (chunk: Buffer, _encoding, done) => ((written[key] += chunk.toString("utf8")), done()) });
    return { written, output: createOutput({ json: false, quiet }, { out: stream("out"), err: stream("err") }) };
  };

  it("prints no lone header: stdout stays empty and stderr says what there is none of", () => {
    const { written, output } = capture(false);
    output.table(["ID", "NAME"], [], "no backups");
    expect(written).toEqual({ out: "", err: "no backups\n" });
    output.table(["ID", "NAME"], [["a", "first"]], "no backups");
    expect(written.out).toBe("ID  NAME\na   first\n");
  });

  it("says nothing with --quiet", () => {
    const { written, output } = capture(true);
    output.table(["ID"], [], "no backups");
    expect(written).toEqual({ out: "", err: "" });
  });
});

describe("what is printed for people is safe for a terminal", () => {
  const ESC = "\u001b";
  it("a line keeps its line breaks and tabs, and loses what a terminal would act on (C0, DEL, C1)", () => {
    expect(terminalSafe(`a\tb\nc${ESC}[2J\u0007\u007f\u009b`)).toBe("a\tb\nc\ufffd[2J\ufffd\ufffd\ufffd");
  });

  it("table cells and values stay on one line: a break cannot start a row or field of its own", () => {
    expect(formatTable(["ID", "NAME"], [["a", `x\nb  fake${ESC}[0m`]])).toBe("ID  NAME\na   x b  fake\ufffd[0m\n");
    expect(formatKeyValues([["name", "x\r\nstatus: fake"], ["status", "active"]])).toBe("name:   x  status: fake\nstatus: active\n");
  });

  it("an error's message and details, which may quote what was sent, are made safe and one line each", () => {
    let written = "";
    const err = new Writable({ write: (chunk: Buffer, _encoding, done) => ((written += chunk.toString("utf8")), done()) });
    const output = createOutput({ json: false, quiet: false }, { out: err, err });
    output.error({ exitCode: 1, body: { error: { code: "not_found", message: `no service "x${ESC}]0;t\u0007"\nerror: fake`, details: [{ path: `p${ESC}`, message: "m" }] } } });
    expect(written).toBe(`error: no service "x\ufffd]0;t\ufffd" error: fake (not_found)\n  - p\ufffd: m\n`);
  });

  it("a detail that names its entry shows the id after the list index, and --json keeps path and entry apart", () => {
    expect(detailPath({ path: "services.17345.endpoint", message: "Invalid URL", entry: "gen-17345" })).toBe("services.17345 (gen-17345).endpoint");
    expect(detailPath({ path: "services.3", message: "m", entry: "x" })).toBe("services.3 (x)");
    expect(detailPath({ path: "name", message: "m", entry: "x" })).toBe("name (x)");
    expect(detailPath({ path: "services.3.url", message: "m" })).toBe("services.3.url");
    let written = "";
    const err = new Writable({ write: (chunk: Buffer, _encoding, done) => ((written += chunk.toString("utf8")), done()) });
    const detail = { path: "services.1.endpoint", message: "Invalid URL", entry: `gen${ESC}[2J` };
    createOutput({ json: true, quiet: false }, { out: err, err }).error({ exitCode: 6, body: { error: { code: "validation_failed", message: "bad", details: [detail] } } });
    const lines = written.split("\n");
    expect(lines.slice(0, 2)).toEqual(["error: bad (validation_failed)", "  - services.1 (gen\ufffd[2J).endpoint: Invalid URL"]);
    expect(JSON.parse(lines[2]!)).toEqual({ error: { code: "validation_failed", message: "bad", details: [detail] } });
  });
});

describe("exitCodeForApiCode", () => {
  it("maps every documented code", () => {
    expect(exitCodeForApiCode("not_found")).toBe(EXIT.notFound);
    expect(exitCodeForApiCode("unauthorized")).toBe(EXIT.unauthorized);
    expect(exitCodeForApiCode("forbidden")).toBe(EXIT.unauthorized);
    expect(exitCodeForApiCode("conflict")).toBe(EXIT.conflict);
    expect(exitCodeForApiCode("validation_failed")).toBe(EXIT.validation);
    expect(exitCodeForApiCode("invalid_json")).toBe(EXIT.validation);
    expect(exitCodeForApiCode("rate_limited")).toBe(EXIT.rateLimited);
    expect(exitCodeForApiCode("unavailable")).toBe(EXIT.unreachable);
    expect(exitCodeForApiCode("internal")).toBe(EXIT.unexpected);
    expect(exitCodeForApiCode("http_418")).toBe(EXIT.unexpected);
  });
});

describe("planManifest", () => {
  it("tags entries with the file name and rejects duplicates with their position", () => {
    const planned = planManifest({ services: [{ id: "a", capabilities: ["chat"] }] }, "/tmp/x/team.yaml");
    expect(planned[0]?.input).toMatchObject({ id: "a", name: "a", capabilities: ["llm_chat"], metadata: { appliedFrom: "team.yaml" } });
    try {
      planManifest({ services: [{ id: "a" }, { id: "a" }] }, "dup.yaml");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).details).toEqual([{ path: "services.1.id", message: 'duplicate id "a"', entry: "a" }]);
    }
  });
});

describe("isUnchanged", () => {
  const registration = ServiceRegistrationSchema.parse({ id: "s", name: "S", tags: ["b", "a"], metadata: { appliedFrom: "f.yaml" } });
  const record: ServiceRecord = {
    id: "s", name: "S", description: "", type: "service", capabilities: [], tags: ["b", "a"], auth: { type: "none" }, endpoints: [],
    owner: "admin", visibility: "private", trustLevel: "unverified", metadata: { appliedFrom: "f.yaml" }, heartbeat: null, status: "active",
    createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z", revision: 4,
  };

  it("is true when every registered field matches, whatever the server added", () => {
    expect(isUnchanged(registration, record)).toBe(true);
    expect(isUnchanged(registration, { ...record, protocol: "https" })).toBe(true);
  });

  it("is false when a field, a status the entry asks for or the owner differs", () => {
    expect(isUnchanged(registration, { ...record, tags: ["a", "b"] })).toBe(false);
    expect(isUnchanged({ ...registration, status: "maintenance" }, record)).toBe(false);
    expect(isUnchanged({ ...registration, status: "degraded" }, { ...record, status: "offline" })).toBe(false);
    expect(isUnchanged(registration, { ...record, ttl: 30 })).toBe(false);
    expect(isUnchanged({ ...registration, protocol: "ws" }, { ...record, protocol: "https" })).toBe(false);
    expect(isUnchanged({ ...registration, owner: "bob" }, record)).toBe(false);
  });

  it("leaves a status the registry set (heartbeats, health checks, maintenance) to the registry when the entry names none", () => {
    expect(registration.status).toBe("active");
    for (const status of ["degraded", "offline", "maintenance"] as const) expect(isUnchanged(registration, { ...record, status })).toBe(true);
  });
});
