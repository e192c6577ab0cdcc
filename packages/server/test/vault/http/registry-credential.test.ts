/**
 * The registry hands raw credentials to the vault: a registration or patch whose `auth` carries `token`
 * is stored as the vault secret `services/<id>/credential`, and the registry keeps only
 * `credentialRef: vault:services/<id>/credential`. The raw token must then appear nowhere: not in any
 * registry answer, not in any row of the SQLite database (every table, every column, and the raw bytes
 * of the database files), not in any log line.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceRecordSchema } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FAST_VAULT, call, codeOf, filesUnder, mintVaultToken } from "./support.js";

const RAW = `sk-raw-${randomBytes(12).toString("hex")}`;
const RAW_PATCHED = `sk-patched-${randomBytes(12).toString("hex")}`;
const dataDir = mkdtempSync(join(tmpdir(), "kai-vault-registry-"));
let server: TestServer;
let alice: string;
let bob: string;
let disposed = false;
/** Every registry answer of the test, to be searched for the raw tokens. */
const answers: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false }, vault: FAST_VAULT } });
  alice = await mintVaultToken(server, ["services:read", "services:write"], "alice");
  bob = await mintVaultToken(server, ["services:read", "services:write"], "bob");
});
afterAll(async () => {
  if (!disposed) await server?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

async function registry(path: string, init: Parameters<typeof call>[2] = {}) {
  const answer = await call(server, path, init);
  answers.push(answer.text);
  return answer;
}

describe("auth.token goes to the vault", () => {
  it("registers with a raw token: 201, only the vault reference is kept and returned", async () => {
    const created = await registry("/api/services/register", { method: "POST", token: alice, json: registration({ id: "llm-1", auth: { type: "bearer_token", token: RAW } }) });
    expect(created.status, created.text).toBe(201);
    const record = ServiceRecordSchema.parse(created.body);
    // Compared on the raw body: parsing would drop unknown keys such as a leaked `token`.
    expect(created.body.auth).toEqual({ type: "bearer_token", credentialRef: "vault:services/llm-1/credential" });
    expect((await registry("/api/services/llm-1", { token: alice })).body).toMatchObject({ auth: record.auth });
    await registry("/api/services?limit=100", { token: alice });
    await registry("/api/services?q=llm", { token: bob });

    // The credential is in the vault, readable by whoever holds vault:read on that name.
    const secret = await call(server, "/api/vault/secrets/services/llm-1/credential");
    expect(secret.status, secret.text).toBe(200);
    expect(secret.body).toMatchObject({ value: RAW, version: 1 });
  });

  it("re-registration and PATCH with a new token store a new version, still only the reference in the record", async () => {
    const patched = await registry("/api/services/llm-1", { method: "PATCH", token: alice, json: { auth: { type: "api_key", header: "X-Api-Key", token: RAW_PATCHED } } });
    expect(patched.status, patched.text).toBe(200);
    expect(ServiceRecordSchema.parse(patched.body).revision).toBeGreaterThan(0);
    expect(patched.body.auth).toEqual({ type: "api_key", header: "X-Api-Key", credentialRef: "vault:services/llm-1/credential" });
    expect((await call(server, "/api/vault/secrets/services/llm-1/credential")).body).toMatchObject({ value: RAW_PATCHED, version: 2 });

    const again = await registry("/api/services/register", { method: "POST", token: alice, json: registration({ id: "llm-1", auth: { type: "bearer_token", token: RAW } }) });
    expect(again.status, again.text).toBe(200);
    expect((await call(server, "/api/vault/secrets/services/llm-1/credential")).body).toMatchObject({ value: RAW, version: 3 });
  });

  it("does not let another owner overwrite a service's credential", async () => {
    const taken = await registry("/api/services/register", { method: "POST", token: bob, json: registration({ id: "llm-1", auth: { type: "bearer_token", token: "sk-bobs-takeover" } }) });
    expect(taken.status).toBe(409);
    const patch = await registry("/api/services/llm-1", { method: "PATCH", token: bob, json: { auth: { type: "bearer_token", token: "sk-bobs-takeover" } } });
    expect(patch.status).toBe(403);
    expect((await call(server, "/api/vault/secrets/services/llm-1/credential")).body).toMatchObject({ value: RAW, version: 3 });
  });

  it("still refuses every other raw credential key with 400, and token together with credentialRef", async () => {
    const refused = [
      registration({ auth: { type: "api_key", apiKey: RAW } }),
      registration({ auth: { type: "basic", password: RAW } }),
      registration({ metadata: { token: RAW } }),
      registration({ metadata: { nested: { api_key: RAW } } }),
      registration({ auth: { type: "bearer_token", token: RAW, credentialRef: "env:X" } }),
      registration({ auth: { type: "bearer_token", token: "" } }),
    ];
    for (const body of refused) {
      const answer = await registry("/api/services/register", { method: "POST", token: alice, json: body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(codeOf(answer)).toBe("validation_failed");
    }
  });

  it("leaves the raw tokens in no answer, no database row, no database byte and no log line", async () => {
    for (const text of answers) {
      expect(text).not.toContain(RAW);
      expect(text).not.toContain(RAW_PATCHED);
    }
    // Every table, every column, while the server runs (a read-only connection sees the WAL too).
    const db = new Database(join(dataDir, "kai.db"), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      expect(tables.length).toBeGreaterThan(2);
      let rows = 0;
      for (const { name } of tables) {
        for (const row of db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Record<string, unknown>[]) {
          rows++;
          for (const value of Object.values(row)) {
            const text = Buffer.isBuffer(value) ? value.toString("latin1") : String(value);
            expect(text, `table ${name}`).not.toContain(RAW);
            expect(text, `table ${name}`).not.toContain(RAW_PATCHED);
          }
        }
      }
      expect(rows).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    await server.dispose();
    disposed = true;
    // After a clean shutdown: the database files and the log file, byte for byte; and the captured log lines.
    const files = filesUnder(dataDir);
    expect(files.some((file) => file.path.endsWith("kai.db"))).toBe(true);
    expect(files.some((file) => /logs\/system\/system-[\d-]+\.log$/.test(file.path))).toBe(true);
    for (const file of files) {
      expect(file.text.includes(RAW), file.path).toBe(false);
      expect(file.text.includes(RAW_PATCHED), file.path).toBe(false);
    }
    expect(server.logs.length).toBeGreaterThan(0);
    for (const line of server.logs) {
      expect(line).not.toContain(RAW);
      expect(line).not.toContain(RAW_PATCHED);
    }
  });
});
