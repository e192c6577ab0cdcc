/**
 * The security log records every security event whatever `logging.level` says (logging/security-lines.ts): a real
 * node started at `warn`, whose level is then raised to `error` over the API, keeps in `logs/security/` its vault
 * reads and writes (info lines), the `config_changed` that raised the level, and a vault read after it; its system
 * log, stdout-like capture and live view keep to the level (no info line), and the file search of the security log
 * finds them (it reads `security/`). A failure (warn) is everywhere as before.
 * A node started at `info` and raised to `warn` while running does the same (its destinations are re-sorted by
 * threshold: pino's multistream stops at the first one above a line's level).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogListResponseSchema, LogSearchResponseSchema } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FAST_VAULT, mintVaultToken } from "../vault/http/support.js";

interface Line {
  level: number;
  msg: string;
  category?: string;
  event?: string;
  operation?: string;
  actor?: string;
  outcome?: string;
  part?: string;
  details?: { key?: string; new?: unknown };
}

const dataDir = mkdtempSync(join(tmpdir(), "kai-security-level-"));
const raisedDir = mkdtempSync(join(tmpdir(), "kai-security-raised-"));
let server: TestServer;
let disposed = false;

beforeAll(async () => {
  server = await startTestServer({ keepDataDir: dataDir, config: { logging: { file: true, level: "warn" }, rateLimit: { enabled: false }, vault: FAST_VAULT } });
});
afterAll(async () => {
  if (!disposed) await server?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(raisedDir, { recursive: true, force: true });
});

function linesOf(folder: string, root = dataDir): Line[] {
  const dir = join(root, "logs", folder);
  return readdirSync(dir)
    .flatMap((name) => readFileSync(join(dir, name), "utf8").split("\n"))
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);
}

describe("the security log above info", () => {
  it("records info security events at warn and after a change to error; the system log keeps to the level", async () => {
    const writer = await mintVaultToken(server, ["vault:read", "vault:write"], "level-writer", ["level/**"]);
    expect((await server.request("/api/vault/secrets/level/one", { method: "PUT", token: writer, json: { value: "v1" } })).status).toBe(200);
    expect((await server.request("/api/vault/secrets/level/one", { token: writer })).status).toBe(200);
    // A refused read: a failure, at warn, which every destination takes.
    expect((await server.request("/api/vault/secrets/elsewhere/x", { token: writer })).status).toBe(403);

    const raised = await server.request("/api/config", { method: "PATCH", json: { settings: { "logging.level": "error" } } });
    expect(raised.status, await raised.clone().text()).toBe(200);
    expect((await server.request("/api/vault/secrets/level/one", { token: writer })).status).toBe(200);

    // The live view keeps to the level: no info line, the refused read's warning is there.
    const live = LogListResponseSchema.parse(await (await server.request("/api/logs?log=security&limit=1000")).json());
    expect(live.entries.some((entry) => entry.level === "info")).toBe(false);
    expect(live.entries.some((entry) => entry.fields.operation === "secret.get" && entry.fields.outcome === "denied")).toBe(true);
    expect(server.logs.some((line) => line.includes('"level":30'))).toBe(false);
    // The file search of the security log reads its own folder: the info events are found there (system/ lacks them).
    const searched = LogSearchResponseSchema.parse(await (await server.request("/api/logs/search?log=security&limit=1000")).json());
    const found = searched.entries.filter((entry) => entry.fields.event === "vault.access" && entry.fields.actor === "level-writer" && entry.level === "info");
    expect(found.map((entry) => entry.fields.operation)).toEqual(["secret.put", "secret.get", "secret.get"]);
    const everything = LogSearchResponseSchema.parse(await (await server.request("/api/logs/search?limit=1000")).json());
    expect(everything.entries.some((entry) => entry.level === "info")).toBe(false);

    await server.dispose();
    disposed = true;
    const security = linesOf("security");
    const accesses = security.filter((line) => line.event === "vault.access" && line.actor === "level-writer");
    expect(accesses.filter((line) => line.level === 30).map((line) => line.operation)).toEqual(["secret.put", "secret.get", "secret.get"]);
    expect(accesses.find((line) => line.outcome === "denied")).toMatchObject({ level: 40, operation: "secret.get" });
    // The change that raised the level is on record, as every line of the security log is: category security.
    expect(security.find((line) => line.event === "config_changed")).toMatchObject({ level: 30, details: { key: "logging.level", new: "error" } });
    expect(security.every((line) => line.category === "security")).toBe(true);

    // The system log writes at the level it was given: no info line at all, the warning that came before `error`.
    const system = linesOf("system");
    expect(system.some((line) => line.level < 40)).toBe(false);
    expect(system.some((line) => line.event === "vault.access" && line.outcome === "denied")).toBe(true);
  });

  it("records them too when a node at info is set to warn while running", async () => {
    const node = await startTestServer({ keepDataDir: raisedDir, config: { rateLimit: { enabled: false }, vault: FAST_VAULT } });
    try {
      const writer = await mintVaultToken(node, ["vault:read", "vault:write"], "raised-writer", ["raised/**"]);
      expect((await node.request("/api/vault/secrets/raised/one", { method: "PUT", token: writer, json: { value: "v1" } })).status).toBe(200);
      expect((await node.request("/api/config", { method: "PATCH", json: { settings: { "logging.level": "warn" } } })).status).toBe(200);
      expect((await node.request("/api/vault/secrets/raised/one", { token: writer })).status).toBe(200);
    } finally {
      await node.close();
    }
    const accesses = linesOf("security", raisedDir).filter((line) => line.event === "vault.access" && line.actor === "raised-writer");
    expect(accesses.map((line) => line.operation)).toEqual(["secret.put", "secret.get"]);
    // Before the change the put is in the system log as well; the read after it is not.
    const system = linesOf("system", raisedDir).filter((line) => line.event === "vault.access" && line.actor === "raised-writer");
    expect(system.map((line) => line.operation)).toEqual(["secret.put"]);
  });
});
