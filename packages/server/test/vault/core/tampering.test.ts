/**
 * Tampering with the vault's files, as an attacker with write access to them would: every edit of what the
 * vault authenticates (a secret's current version, its expiry, its head MAC; the header's keyring, active key
 * version and KDF row) is refused as `vault_tampered` with a log line that names what (and which secret, never
 * its value); each way a vault fails to open (missing vault.key, another vault's key, an altered header, a
 * replaced KDF row) has its own message; a format-1 vault (key file or passphrase) is migrated at unlock, whole
 * or not at all; and a key-file vault unlocks again without a passphrase after a lock.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { derivePassphraseKek, type Pbkdf2Kdf } from "../../../src/vault/crypto/kdf.js";
import { Keyring } from "../../../src/vault/keyring.js";
import { keyringAad } from "../../../src/vault/vault-header.js";
import { ADMIN, expectCode, openHarness, vaultConfig, type Harness } from "./harness.js";

const PASS = "tampering test passphrase";
let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** Runs `sql` on the database file from a connection of its own, as an attacker would. */
function edit(sql: string, ...params: unknown[]): void {
  const db = new BetterSqlite3(h.dbPath);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

function read<T>(sql: string, ...params: unknown[]): T {
  const db = new BetterSqlite3(h.dbPath, { readonly: true });
  try {
    return db.prepare(sql).get(...params) as T;
  } finally {
    db.close();
  }
}

/** The log lines written from `from` on, as one text. */
const logSince = (from: number) => h.logLines.slice(from).join("");

describe("what a vault that does not open says", () => {
  it("key-file vault: a missing vault.key, another vault's key and an altered header each have their own message and log line", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("a", { value: "value-of-a" }, ADMIN);
    await h.restart();
    const keyPath = join(h.dir, "vault.key");
    const key = readFileSync(keyPath);
    const header = read<{ keyring: Buffer }>("SELECT keyring FROM vault_header");

    rmSync(keyPath);
    let from = h.logLines.length;
    const missing = await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_locked");
    expect(missing.message).toMatch(/vault\.key is missing/);
    expect(logSince(from)).toContain("vault: vault.key is missing from the data directory");

    writeFileSync(keyPath, randomBytes(32), { mode: 0o600 });
    from = h.logLines.length;
    const wrong = await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_locked");
    expect(wrong.message).toMatch(/does not belong to this vault/);
    expect(logSince(from)).toContain("vault: vault.key does not belong to this vault");

    writeFileSync(keyPath, key, { mode: 0o600 });
    const altered = Buffer.from(header.keyring);
    altered[20]! ^= 0x01;
    edit("UPDATE vault_header SET keyring = ?", altered);
    from = h.logLines.length;
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_tampered");
    expect(logSince(from)).toContain("tampering detected: the header's keyring, active key version or format was altered");
    expect(logSince(from)).not.toContain("does not belong");
    expect(logSince(from)).not.toContain("does not open");

    // The active key version shown while locked is bound to the keyring: editing it is found at unlock.
    edit("UPDATE vault_header SET keyring = ?, active_version = 7", header.keyring);
    expect((await h.vault.status()).keyVersion).toBe(7);
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_tampered");
    // So is the format column (a way back to the unauthenticated format 1).
    edit("UPDATE vault_header SET active_version = 1, format = 1");
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_tampered");

    edit("UPDATE vault_header SET format = 2");
    await h.vault.unlockFromKeyFile(ADMIN);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("value-of-a");
    const failures = await h.vault.auditEntries({ limit: 100, operation: "unlock", outcome: "failed" }, ADMIN);
    expect(failures.map((entry) => entry.reason?.replace(/^tampered: .*/, "tampered"))).toEqual([
      "key file missing", "key file does not open the vault", "tampered", "tampered", "tampered",
    ]);
    expect(h.logLines.join("")).not.toContain("value-of-a");
  });

  it("passphrase vault: an altered keyring is tampering, not a wrong passphrase, and costs no backoff attempt", async () => {
    h = await openHarness();
    await h.vault.init(PASS, ADMIN);
    await h.restart();
    const header = read<{ keyring: Buffer }>("SELECT keyring FROM vault_header");
    const altered = Buffer.from(header.keyring);
    altered[altered.length - 1]! ^= 0x80;
    edit("UPDATE vault_header SET keyring = ?", altered);

    const from = h.logLines.length;
    for (let i = 0; i < 4; i++) await expectCode(h.vault.unlock(PASS, ADMIN), "vault_tampered");
    expect((await h.vault.status()).unlockBackoffSeconds).toBe(0);
    expect(logSince(from)).toContain("tampering detected: the header's keyring");
    // A wrong passphrase is still just that.
    await expectCode(h.vault.unlock("not the passphrase at all", ADMIN), "invalid_passphrase");

    edit("UPDATE vault_header SET keyring = ?", header.keyring);
    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.status()).locked).toBe(false);
  });

  it("a replaced KDF row is said in the log at start; a key-file KDF row without its check is tampering", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    const original = read<{ kdf: string }>("SELECT kdf FROM vault_header").kdf;
    expect(JSON.parse(original)).toMatchObject({ name: "key-file", check: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    edit("UPDATE vault_header SET kdf = ?", '{"name":"scrypt","n":1024}');
    let from = h.logLines.length;
    await h.restart();
    expect(logSince(from)).toContain("the vault header's format or KDF row is not one this server knows");
    expect(await h.vault.status()).toMatchObject({ locked: true, kdf: null });

    edit("UPDATE vault_header SET kdf = ?", JSON.stringify({ name: "pbkdf2-sha256", iterations: 10_000, hash: "sha256", salt: "A".repeat(22) }));
    from = h.logLines.length;
    await h.restart();
    expect(logSince(from)).toContain("the vault header asks for a passphrase, but <data-dir>/vault.key exists");
    expect((await h.vault.status()).autoUnlock).toBe(false);

    edit("UPDATE vault_header SET kdf = ?", '{"name":"key-file"}');
    await h.restart();
    from = h.logLines.length;
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_tampered");
    expect(logSince(from)).toContain("tampering detected: the header's KDF row has no key check");

    edit("UPDATE vault_header SET kdf = ?", original);
    await h.vault.unlockFromKeyFile(ADMIN);
  });
});

describe("a secret's metadata is authenticated", () => {
  it("a secret rolled back to an older kept version is refused as tampered, by name and never by value", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("openai/prod", { value: "old-value-1" }, ADMIN);
    await h.vault.putSecret("openai/prod", { value: "new-value-2" }, ADMIN);
    await h.vault.putSecret("other", { value: "other-value" }, ADMIN);

    edit("UPDATE vault_secrets SET version = 1 WHERE name = 'openai/prod'");
    const from = h.logLines.length;
    const error = await expectCode(h.vault.getSecret("openai/prod", ADMIN), "vault_tampered");
    expect(error.status).toBe(500);
    expect(error.message).not.toMatch(/value-/);
    const lines = logSince(from);
    expect(lines).toContain("tampering detected: secret openai/prod: its metadata (current version, expiry or key version) does not match its MAC");
    expect(lines).toContain('"secret":"openai/prod"');
    expect(lines).not.toMatch(/value-/);
    const [entry] = await h.vault.auditEntries({ limit: 10, operation: "secret.get", outcome: "failed" }, ADMIN);
    expect(entry?.reason).toMatch(/^tampered: secret openai\/prod: its metadata/);
    // A new version is not stacked on the rolled-back head either; other secrets are unaffected.
    await expectCode(h.vault.putSecret("openai/prod", { value: "third" }, ADMIN), "vault_tampered");
    expect((await h.vault.getSecret("other", ADMIN)).value).toBe("other-value");

    // Deleting the newest version row as well changes nothing.
    edit("DELETE FROM vault_secret_versions WHERE name = 'openai/prod' AND version = 2");
    await expectCode(h.vault.getSecret("openai/prod", ADMIN), "vault_tampered");
    // Pointing at a version that is not there.
    edit("UPDATE vault_secrets SET version = 2 WHERE name = 'openai/prod'");
    await expectCode(h.vault.getSecret("openai/prod", ADMIN), "vault_tampered");
    // Deleting the secret and writing it again is how an operator recovers.
    await h.vault.deleteSecret("openai/prod", ADMIN);
    await h.vault.putSecret("openai/prod", { value: "fresh-value" }, ADMIN);
    expect((await h.vault.getSecret("openai/prod", ADMIN)).value).toBe("fresh-value");
  });

  it("clearing or moving an expiry does not revive an expired secret", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    const expiresAt = new Date(h.clock.now + 3_600_000).toISOString();
    await h.vault.putSecret("short/lived", { value: "expiring-value", expiresAt }, ADMIN);
    h.clock.now += 7_200_000;
    await expectCode(h.vault.getSecret("short/lived", ADMIN), "not_found");

    edit("UPDATE vault_secrets SET expires_at = NULL WHERE name = 'short/lived'");
    await expectCode(h.vault.getSecret("short/lived", ADMIN), "vault_tampered");
    edit("UPDATE vault_secrets SET expires_at = '2099-01-01T00:00:00.000Z' WHERE name = 'short/lived'");
    await expectCode(h.vault.getSecret("short/lived", ADMIN), "vault_tampered");
    edit("UPDATE vault_secrets SET expires_at = ? WHERE name = 'short/lived'", expiresAt);
    await expectCode(h.vault.getSecret("short/lived", ADMIN), "not_found");
  });

  it("a removed head MAC, or one copied from another secret, is tampering", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("a", { value: "value-a" }, ADMIN);
    await h.vault.putSecret("b", { value: "value-b" }, ADMIN);
    const mac = read<{ head_mac: Buffer }>("SELECT head_mac FROM vault_secrets WHERE name = 'a'").head_mac;
    expect(mac).toHaveLength(32);

    edit("UPDATE vault_secrets SET head_mac = NULL WHERE name = 'a'");
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
    edit("UPDATE vault_secrets SET head_mac = (SELECT head_mac FROM vault_secrets WHERE name = 'b') WHERE name = 'a'");
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
    edit("UPDATE vault_secrets SET head_mac = ? WHERE name = 'a'", mac);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("value-a");
    // Rotation re-seals heads under the new key: still verified afterwards, and across a restart.
    await h.vault.rotate(ADMIN);
    expect(read<{ head_mac: Buffer }>("SELECT head_mac FROM vault_secrets WHERE name = 'a'").head_mac.equals(mac)).toBe(false);
    await h.restart();
    await h.vault.unlockFromKeyFile(ADMIN);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("value-a");
  });
});

describe("vaults made before (format 1)", () => {
  /** Turns the vault on disk back into what an earlier server wrote: format 1, no key check, no head MACs. */
  function downgradeToFormat1(): void {
    const kek = readFileSync(join(h.dir, "vault.key"));
    const header = read<{ keyring: Buffer; active_version: number }>("SELECT keyring, active_version FROM vault_header");
    const keyring = Keyring.unwrap(header.keyring, kek, keyringAad(2, header.active_version));
    const legacy = keyring.wrap(kek, keyringAad(1, header.active_version));
    keyring.destroy();
    edit("UPDATE vault_header SET format = 1, kdf = '{\"name\":\"key-file\"}', keyring = ?", legacy);
    edit("UPDATE vault_secrets SET head_mac = NULL");
  }

  async function makeVault(): Promise<void> {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("a", { value: "a-one" }, ADMIN);
    await h.vault.putSecret("a", { value: "a-two" }, ADMIN);
    await h.vault.putSecret("b", { value: "b-one" }, ADMIN);
    await h.vault.close();
    downgradeToFormat1();
    await h.restart();
  }

  it("is migrated at unlock: every head gets its MAC, the header format 2 with its check, all values readable", async () => {
    await makeVault();
    expect((await h.vault.status()).locked).toBe(true);
    await h.vault.unlockFromKeyFile(ADMIN);
    expect(read<{ format: number }>("SELECT format FROM vault_header").format).toBe(2);
    expect(JSON.parse(read<{ kdf: string }>("SELECT kdf FROM vault_header").kdf)).toHaveProperty("check");
    expect(read<{ n: number }>("SELECT count(*) AS n FROM vault_secrets WHERE head_mac IS NULL").n).toBe(0);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("a-two");
    expect((await h.vault.getSecret("b", ADMIN)).value).toBe("b-one");
    const [unlock] = await h.vault.auditEntries({ limit: 1, operation: "unlock", outcome: "allowed" }, ADMIN);
    expect(unlock?.reason).toBe("key file; migrated to format 2 (2 secrets)");

    // From now on a rollback is caught.
    edit("UPDATE vault_secrets SET version = 1 WHERE name = 'a'");
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
  });

  it("is migrated whole or not at all: a migration that cannot commit leaves format 1 intact, and the next unlock migrates", async () => {
    await makeVault();
    edit("CREATE TRIGGER refuse_header BEFORE UPDATE ON vault_header BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "unavailable");
    expect((await h.vault.status()).locked).toBe(true);
    expect(read<{ format: number }>("SELECT format FROM vault_header").format).toBe(1);
    // The head MACs written before the header failed were rolled back with it.
    expect(read<{ n: number }>("SELECT count(*) AS n FROM vault_secrets WHERE head_mac IS NOT NULL").n).toBe(0);

    edit("DROP TRIGGER refuse_header");
    await h.vault.unlockFromKeyFile(ADMIN);
    expect(read<{ format: number }>("SELECT format FROM vault_header").format).toBe(2);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("a-two");
  });
});

describe("a format-1 passphrase vault", () => {
  it("is migrated together with a KDF upgrade in the unlock's one transaction, and opens again after a restart", async () => {
    h = await openHarness();
    await h.vault.init(PASS, ADMIN);
    await h.vault.putSecret("p/one", { value: "pass-value" }, ADMIN);
    await h.vault.close();
    const header = read<{ kdf: string; keyring: Buffer; active_version: number }>("SELECT kdf, keyring, active_version FROM vault_header");
    const { check: _check, ...kdf } = JSON.parse(header.kdf) as Pbkdf2Kdf;
    const kek = await derivePassphraseKek(PASS, kdf);
    const keyring = Keyring.unwrap(header.keyring, kek, keyringAad(2, header.active_version));
    edit("UPDATE vault_header SET format = 1, kdf = ?, keyring = ?", JSON.stringify(kdf), keyring.wrap(kek, keyringAad(1, header.active_version)));
    edit("UPDATE vault_secrets SET head_mac = NULL");
    keyring.destroy();

    await h.restart(vaultConfig({ pbkdf2Iterations: 20_000 }));
    await expectCode(h.vault.unlock("not the passphrase at all", ADMIN), "invalid_passphrase");
    await h.vault.unlock(PASS, ADMIN);
    const after = read<{ format: number; kdf: string }>("SELECT format, kdf FROM vault_header");
    expect(after.format).toBe(2);
    expect(JSON.parse(after.kdf)).toMatchObject({ iterations: 20_000, check: expect.any(String) });
    const [unlock] = await h.vault.auditEntries({ limit: 1, operation: "unlock", outcome: "allowed" }, ADMIN);
    expect(unlock?.reason).toBe("kdf upgraded to 20000 iterations; migrated to format 2 (1 secrets)");
    expect((await h.vault.getSecret("p/one", ADMIN)).value).toBe("pass-value");

    await h.restart(vaultConfig({ pbkdf2Iterations: 20_000 }));
    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.getSecret("p/one", ADMIN)).value).toBe("pass-value");
  });
});

describe("unlocking a key-file vault again after a lock", () => {
  it("needs no passphrase; a passphrase vault asked the same way answers validation_failed", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("a", { value: "v" }, ADMIN);
    await h.vault.lock(ADMIN);
    expect(await h.vault.unlock(undefined, ADMIN)).toMatchObject({ locked: false, autoUnlock: true });
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("v");

    await h.vault.rekey(PASS, ADMIN);
    await h.vault.lock(ADMIN);
    await expectCode(h.vault.unlock(undefined, ADMIN), "validation_failed");
    expect((await h.vault.status()).locked).toBe(true);
  });
});
