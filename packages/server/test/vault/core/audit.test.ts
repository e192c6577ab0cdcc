/**
 * The audit log: MAC chain verification catches edited, deleted, swapped, inserted and truncated entries;
 * the log fails closed (no audit entry, no operation); and a canary secret planted through every vault
 * operation never appears in a log line, an error, an audit row, or the database file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import { createVault } from "../../../src/vault/vault-service.js";
import { ApiError } from "../../../src/errors.js";
import { actor, ADMIN, expectCode, openHarness, vaultConfig, type Harness } from "./harness.js";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function someHistory(harness: Harness): Promise<void> {
  await harness.vault.init(undefined, ADMIN);
  await harness.vault.putSecret("a", { value: "1" }, ADMIN);
  await harness.vault.getSecret("a", ADMIN);
  await expectCode(harness.vault.getSecret("a", actor("x", ["vault:write"])), "forbidden");
  await harness.vault.encrypt("t", undefined, ADMIN);
  await harness.vault.listSecrets(ADMIN);
}

describe("audit chain", () => {
  it("verifies an intact log and records every operation with outcome, actor and hashed name", async () => {
    h = await openHarness();
    await someHistory(h);
    const report = await h.vault.verifyAudit(ADMIN);
    expect(report).toEqual({ ok: true, entries: 6, brokenAt: null });
    const entries = await h.vault.auditEntries({ limit: 100 }, ADMIN);
    expect(entries.map((e) => `${e.operation}:${e.outcome}`)).toEqual([
      "init:allowed", "secret.put:allowed", "secret.get:allowed", "secret.get:denied", "transit.encrypt:allowed",
      "secret.list:allowed", "audit.verify:allowed", "audit.read:allowed",
    ]);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(entries[1]!.secret).toBe(entries[2]!.secret);
    expect(entries[1]!.secret).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it("reports the first broken entry when one is edited, deleted, swapped, inserted or the tail truncated", async () => {
    h = await openHarness();
    await someHistory(h);
    const db = new BetterSqlite3(h.dbPath);
    const row = (seq: number) => db.prepare("SELECT * FROM vault_audit WHERE seq = ?").get(seq) as Record<string, unknown>;
    const restore = (saved: Record<string, unknown>) =>
      db.prepare("INSERT OR REPLACE INTO vault_audit (seq, at, token_id, actor, operation, secret, outcome, reason, request_id, mac) VALUES (@seq, @at, @token_id, @actor, @operation, @secret, @outcome, @reason, @request_id, @mac)").run(saved);
    const verify = () => h.vault.verifyAudit(ADMIN);

    for (const [column, value] of [["outcome", "allowed"], ["actor", "someone-else"], ["at", "2020-01-01T00:00:00.000Z"], ["reason", null], ["token_id", "forged"]] as const) {
      const saved = row(4);
      db.prepare(`UPDATE vault_audit SET ${column} = ? WHERE seq = 4`).run(value);
      expect((await verify()).brokenAt, column).toBe(4);
      restore(saved);
      expect((await verify()).ok).toBe(true);
    }

    const saved3 = row(3);
    db.prepare("DELETE FROM vault_audit WHERE seq = 3").run();
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 3 });
    restore(saved3);

    const saved2 = row(2);
    db.prepare("UPDATE vault_audit SET at = @at, token_id = @token_id, actor = @actor, operation = @operation, secret = @secret, outcome = @outcome, reason = @reason, request_id = @request_id, mac = @mac WHERE seq = 2").run({ ...saved3 });
    db.prepare("UPDATE vault_audit SET at = @at, token_id = @token_id, actor = @actor, operation = @operation, secret = @secret, outcome = @outcome, reason = @reason, request_id = @request_id, mac = @mac WHERE seq = 3").run({ ...saved2 });
    expect((await verify()).brokenAt).toBe(2);
    restore(saved2);
    restore(saved3);
    expect((await verify()).ok).toBe(true);

    // A forged entry appended (head moved to it, as an attacker would) cannot carry a valid MAC.
    const headRow = db.prepare("SELECT seq, mac FROM vault_audit_head").get() as { seq: number; mac: string };
    restore({ ...row(headRow.seq), seq: headRow.seq + 1, reason: "forged", mac: "ab".repeat(32) });
    db.prepare("UPDATE vault_audit_head SET seq = ?, mac = ?").run(headRow.seq + 1, "ab".repeat(32));
    expect((await verify()).brokenAt).toBe(headRow.seq + 1);
    db.prepare("DELETE FROM vault_audit WHERE seq > ?").run(headRow.seq);
    db.prepare("UPDATE vault_audit_head SET seq = ?, mac = ?").run(headRow.seq, headRow.mac);
    expect((await verify()).ok).toBe(true);

    // The head row altered on its own (pointing at an earlier entry's place with a wrong MAC).
    const current = db.prepare("SELECT seq, mac FROM vault_audit_head").get() as { seq: number; mac: string };
    db.prepare("UPDATE vault_audit_head SET mac = ?").run("cd".repeat(32));
    expect((await verify()).ok).toBe(false);
    db.prepare("DELETE FROM vault_audit WHERE seq > ?").run(current.seq);
    db.prepare("UPDATE vault_audit_head SET seq = ?, mac = ?").run(current.seq, current.mac);
    expect((await verify()).ok).toBe(true);

    const head = db.prepare("SELECT seq FROM vault_audit_head").get() as { seq: number };
    db.prepare("DELETE FROM vault_audit WHERE seq > ?").run(head.seq - 2);
    expect(await verify()).toMatchObject({ ok: false, brokenAt: head.seq - 1 });
    db.close();
  });

  it("fails closed: when the audit entry cannot be written, the operation fails and leaves nothing", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("existing", { value: "old" }, ADMIN);
    const db = new BetterSqlite3(h.dbPath);
    db.exec("CREATE TRIGGER no_audit BEFORE INSERT ON vault_audit BEGIN SELECT RAISE(ABORT, 'audit disk full'); END");

    const put = await expectCode(h.vault.putSecret("new", { value: "fresh" }, ADMIN), "unavailable");
    expect(put.status).toBe(503);
    await expectCode(h.vault.putSecret("existing", { value: "overwrite" }, ADMIN), "unavailable");
    await expectCode(h.vault.getSecret("existing", ADMIN), "unavailable");
    await expectCode(h.vault.getSecret("existing", actor("x", ["vault:write"])), "unavailable");
    await expectCode(h.vault.encrypt("p", undefined, ADMIN), "unavailable");
    await expectCode(h.vault.rotate(ADMIN), "unavailable");
    await expectCode(h.vault.deleteSecret("existing", ADMIN), "unavailable");
    await expectCode(h.vault.listSecrets(ADMIN), "unavailable");
    expect((await h.vault.status()).keyVersion).toBe(1);

    db.exec("DROP TRIGGER no_audit");
    db.close();
    await expectCode(h.vault.getSecret("new", ADMIN), "not_found");
    const existing = await h.vault.getSecret("existing", ADMIN);
    expect(existing).toMatchObject({ value: "old", version: 1 });
    // The refused read did not count as a use.
    expect((await h.vault.auditEntries({ limit: 100, operation: "secret.get", outcome: "allowed" }, ADMIN))).toHaveLength(1);
    expect((await h.vault.verifyAudit(ADMIN)).ok).toBe(true);
  });
});

describe("canary", () => {
  it("a planted secret never appears in logs, errors, audit rows or the database file", async () => {
    const CANARY = "CANARY-sk-9f8e7d6c5b4a";
    const PASSPHRASE = "CANARY-passphrase-0123";
    h = await openHarness(vaultConfig({ rotateAfterEncryptions: 1000 }));
    const errors: string[] = [];
    const attempt = async (call: Promise<unknown>) => {
      try {
        return await call;
      } catch (error) {
        errors.push(error instanceof ApiError ? JSON.stringify({ code: error.code, message: error.message, details: error.details }) : String(error));
        return undefined;
      }
    };
    await h.vault.init(PASSPHRASE, ADMIN);
    await h.vault.putSecret("canary/one", { value: CANARY, description: "a canary" }, ADMIN);
    await h.vault.storeServiceCredential("svc", CANARY, actor("svc", ["services:write"]));
    const { ciphertext } = await h.vault.encrypt(CANARY, CANARY, ADMIN);
    expect(ciphertext).not.toContain(CANARY);
    await attempt(h.vault.decrypt(ciphertext, "wrong", ADMIN));
    await attempt(h.vault.decrypt(ciphertext.slice(0, -3), CANARY, ADMIN));
    await attempt(h.vault.putSecret("canary/one", { value: CANARY }, actor("r", ["vault:read"])));
    await attempt(h.vault.putSecret(`bad name ${CANARY}`, { value: CANARY }, ADMIN));
    await attempt(h.vault.putSecret("canary/two", { value: CANARY, expiresAt: "2000-01-01T00:00:00.000Z" }, ADMIN));
    await attempt(h.vault.unlock(CANARY, ADMIN));
    await h.vault.rewrap(ciphertext, CANARY, ADMIN);
    await h.vault.rotate(ADMIN);
    await h.vault.rekey(`${PASSPHRASE}-2`, ADMIN);
    expect((await h.vault.getSecret("canary/one", ADMIN)).value).toBe(CANARY);
    await h.vault.lock(ADMIN);
    await attempt(h.vault.unlock(PASSPHRASE, ADMIN));
    await attempt(h.vault.getSecret("canary/one", ADMIN));
    await h.vault.unlock(`${PASSPHRASE}-2`, ADMIN);
    const audit = JSON.stringify(await h.vault.auditEntries({ limit: 1000 }, ADMIN));
    await h.vault.close();
    await h.sqlite.close();

    expect(errors.length).toBeGreaterThanOrEqual(7);
    const files = readdirSync(h.dir).filter((name) => name.startsWith("kai.db")).map((name) => readFileSync(join(h.dir, name)).toString("latin1"));
    for (const [where, text] of [["logs", h.logLines.join("\n")], ["errors", errors.join("\n")], ["audit", audit], ["database", files.join("")]] as const) {
      expect(text.length, where).toBeGreaterThan(0);
      expect(text, where).not.toContain(CANARY);
      expect(text, where).not.toContain("CANARY");
      expect(text, where).not.toContain(Buffer.from(CANARY).toString("base64"));
    }
    // Reopen for the harness's own cleanup.
    await h.restart();
  });
});

describe("memory backend", () => {
  it("runs the same vault over the in-memory store", async () => {
    const memory = new MemoryStore();
    h = await openHarness();
    const vault = await createVault({ store: memory.vaultStore(), dataDir: h.dir, config: vaultConfig(), logger: pino({ level: "silent" }) });
    await vault.init("memory passphrase", ADMIN);
    await vault.putSecret("m/1", { value: "x" }, ADMIN);
    await vault.rotate(ADMIN);
    await vault.lock(ADMIN);
    await expectCode(vault.unlock("wrong passphrase!", ADMIN), "invalid_passphrase");
    await vault.unlock("memory passphrase", ADMIN);
    expect((await vault.getSecret("m/1", ADMIN)).value).toBe("x");
    expect((await vault.verifyAudit(ADMIN)).ok).toBe(true);
    await vault.close();
  });
});
