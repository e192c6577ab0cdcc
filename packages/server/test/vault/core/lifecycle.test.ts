/**
 * Vault lifecycle on a real SQLite file: the development default (key file), passphrases, locked state,
 * wrong passphrases and their backoff, KDF upgrade on unlock, rekey both ways, restart persistence.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { actor, ADMIN, expectCode, openHarness, vaultConfig, type Harness } from "./harness.js";

const PASS = "correct horse battery staple";
let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe("development default: key file", () => {
  it("initialises with a 0600 vault.key, auto-unlocks from it, and says so in status", async () => {
    h = await openHarness();
    expect((await h.vault.status()).initialized).toBe(false);
    const status = await h.vault.init(undefined, ADMIN);
    expect(status).toMatchObject({ initialized: true, locked: false, autoUnlock: true, kdf: { name: "key-file" }, keyVersion: 1, secrets: 0 });
    const keyFile = join(h.dir, "vault.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(keyFile).size).toBe(32);
    expect(statSync(join(h.dir, "audit.key")).mode & 0o777).toBe(0o600);
    await h.vault.putSecret("openai/prod", { value: "sk-1" }, ADMIN);

    await h.restart();
    expect((await h.vault.status()).locked).toBe(true);
    await h.vault.unlockFromKeyFile(ADMIN);
    expect((await h.vault.getSecret("openai/prod", ADMIN)).value).toBe("sk-1");
  });

  it("refuses a second init", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await expectCode(h.vault.init(PASS, ADMIN), "conflict");
  });

  it("answers vault_not_initialized before init", async () => {
    h = await openHarness();
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_not_initialized");
    await expectCode(h.vault.unlock(PASS, ADMIN), "vault_not_initialized");
    await expectCode(h.vault.encrypt("x", undefined, ADMIN), "vault_not_initialized");
  });
});

describe("passphrase", () => {
  it("stores the KDF parameters, starts locked after a restart, and a wrong passphrase says only that", async () => {
    h = await openHarness();
    const status = await h.vault.init(PASS, ADMIN);
    expect(status.kdf).toEqual({ name: "pbkdf2-sha256", iterations: 10_000, hash: "sha256" });
    expect(status.autoUnlock).toBe(false);
    expect(existsSync(join(h.dir, "vault.key"))).toBe(false);
    await h.vault.putSecret("db/password", { value: "hunter2" }, ADMIN);

    await h.restart();
    expect((await h.vault.status()).locked).toBe(true);
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_locked");
    const wrong = await expectCode(h.vault.unlock("not the passphrase", ADMIN), "invalid_passphrase");
    expect(wrong.message).toBe("invalid passphrase");
    expect(wrong.status).toBe(403);
    expect((await h.vault.status()).locked).toBe(true);
    await expectCode(h.vault.getSecret("db/password", ADMIN), "vault_locked");

    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.getSecret("db/password", ADMIN)).value).toBe("hunter2");
  });

  it("refuses short passphrases", async () => {
    h = await openHarness();
    await expectCode(h.vault.init("short", ADMIN), "validation_failed");
    await h.vault.init(PASS, ADMIN);
    await expectCode(h.vault.rekey("short", ADMIN), "validation_failed");
  });

  it("uses the configured default of 600,000 iterations", async () => {
    h = await openHarness(vaultConfig({ pbkdf2Iterations: 600_000 }));
    expect((await h.vault.init(PASS, ADMIN)).kdf?.iterations).toBe(600_000);
  });

  it("upgrades weaker stored KDF parameters on unlock", async () => {
    h = await openHarness(vaultConfig({ pbkdf2Iterations: 10_000 }));
    await h.vault.init(PASS, ADMIN);
    await h.vault.putSecret("a", { value: "v" }, ADMIN);
    const before = await h.sqlite.vaultStore().getHeader();

    await h.restart(vaultConfig({ pbkdf2Iterations: 20_000 }));
    expect((await h.vault.status()).kdf?.iterations).toBe(10_000);
    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.status()).kdf?.iterations).toBe(20_000);
    const after = await h.sqlite.vaultStore().getHeader();
    expect(after?.kdf).not.toBe(before?.kdf);
    // A new salt came with the new parameters.
    expect(JSON.parse(after!.kdf).salt).not.toBe(JSON.parse(before!.kdf).salt);

    await h.restart(vaultConfig({ pbkdf2Iterations: 20_000 }));
    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("v");
    // Never downgraded by a weaker configuration.
    await h.restart(vaultConfig({ pbkdf2Iterations: 10_000 }));
    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.status()).kdf?.iterations).toBe(20_000);
  });
});

describe("locked state", () => {
  it("answers vault_locked for every operation needing a key, and zeroes the keys", async () => {
    h = await openHarness();
    await h.vault.init(PASS, ADMIN);
    await h.vault.putSecret("a", { value: "v" }, ADMIN);
    const { ciphertext } = await h.vault.encrypt("p", undefined, ADMIN);
    const keyring = h.keyrings.at(-1)!;
    const buffers = keyring.list().map((key) => key.key.bytes);
    expect(buffers.some((buffer) => buffer.some((byte) => byte !== 0))).toBe(true);

    const status = await h.vault.lock(ADMIN);
    expect(status.locked).toBe(true);
    for (const buffer of buffers) expect(buffer.every((byte) => byte === 0)).toBe(true);
    expect(keyring.list()).toHaveLength(0);

    const calls: Array<Promise<unknown>> = [
      h.vault.putSecret("a", { value: "w" }, ADMIN),
      h.vault.getSecret("a", ADMIN),
      h.vault.deleteSecret("a", ADMIN),
      h.vault.encrypt("p", undefined, ADMIN),
      h.vault.decrypt(ciphertext, undefined, ADMIN),
      h.vault.rewrap(ciphertext, undefined, ADMIN),
      h.vault.rotate(ADMIN),
      h.vault.rekey("another passphrase", ADMIN),
      h.vault.storeServiceCredential("svc", "tok", ADMIN),
    ];
    for (const call of calls) expect((await expectCode(call, "vault_locked")).status).toBe(503);
    // Listing names and metadata needs no key.
    expect((await h.vault.listSecrets(ADMIN)).map((s) => s.name)).toEqual(["a"]);

    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("v");
    expect((await h.vault.decrypt(ciphertext, undefined, ADMIN)).plaintext).toBe("p");
  });
});

describe("wrong passphrases are slowed down", () => {
  it("refuses attempts inside a doubling window after the free ones, and says so in status", async () => {
    h = await openHarness(vaultConfig({ freeUnlockAttempts: 2 }));
    await h.vault.init(PASS, ADMIN);
    await h.vault.lock(ADMIN);
    await expectCode(h.vault.unlock("wrong passphrase 1", ADMIN), "invalid_passphrase");
    expect((await h.vault.status()).unlockBackoffSeconds).toBe(0);
    await expectCode(h.vault.unlock("wrong passphrase 2", ADMIN), "invalid_passphrase");
    expect((await h.vault.status()).unlockBackoffSeconds).toBe(1);
    // Even the right passphrase is refused inside the window (no KDF run at all).
    const limited = await expectCode(h.vault.unlock(PASS, ADMIN), "rate_limited");
    expect(limited.headers?.["Retry-After"]).toBe("1");
    expect((await h.vault.status()).locked).toBe(true);

    h.clock.now += 1000;
    await expectCode(h.vault.unlock("wrong passphrase 3", ADMIN), "invalid_passphrase");
    expect((await h.vault.status()).unlockBackoffSeconds).toBe(2);
    h.clock.now += 1000;
    await expectCode(h.vault.unlock(PASS, ADMIN), "rate_limited");
    h.clock.now += 1000;
    for (let i = 0; i < 12; i++) {
      await expectCode(h.vault.unlock(`wrong passphrase x${i}`, ADMIN), "invalid_passphrase");
      h.clock.now += (await h.vault.status()).unlockBackoffSeconds * 1000;
    }
    await expectCode(h.vault.unlock("wrong passphrase y", ADMIN), "invalid_passphrase");
    expect((await h.vault.status()).unlockBackoffSeconds).toBe(300);
    h.clock.now += 300_000;
    await h.vault.unlock(PASS, ADMIN);
    expect((await h.vault.status()).unlockBackoffSeconds).toBe(0);

    const denied = await h.vault.auditEntries({ limit: 1000, outcome: "denied" }, ADMIN);
    expect(denied.filter((entry) => entry.operation === "unlock" && entry.reason === "rate_limited")).toHaveLength(2);
    const failed = await h.vault.auditEntries({ limit: 1000, outcome: "failed", operation: "unlock" }, ADMIN);
    expect(failed.every((entry) => entry.reason === "invalid_passphrase")).toBe(true);
    expect(failed).toHaveLength(16);
  });
});

describe("rekey", () => {
  it("changes the passphrase without touching secrets; the old one stops working", async () => {
    h = await openHarness();
    await h.vault.init(PASS, ADMIN);
    for (let i = 0; i < 20; i++) await h.vault.putSecret(`s/${i}`, { value: `value-${i}` }, ADMIN);
    const rowsBefore = (await h.sqlite.vaultStore().transact((tx) => tx.allSecretVersions(), { allSecrets: true })).map((row) => row.ciphertext.toString("hex"));

    await h.vault.rekey("a brand new passphrase", ADMIN);
    const rowsAfter = (await h.sqlite.vaultStore().transact((tx) => tx.allSecretVersions(), { allSecrets: true })).map((row) => row.ciphertext.toString("hex"));
    expect(rowsAfter).toEqual(rowsBefore);

    await h.restart();
    await expectCode(h.vault.unlock(PASS, ADMIN), "invalid_passphrase");
    await h.vault.unlock("a brand new passphrase", ADMIN);
    for (let i = 0; i < 20; i++) expect((await h.vault.getSecret(`s/${i}`, ADMIN)).value).toBe(`value-${i}`);
  });

  it("moves from the key file to a passphrase (deleting vault.key) and back", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("a", { value: "v" }, ADMIN);
    const toPassphrase = await h.vault.rekey(PASS, ADMIN);
    expect(toPassphrase).toMatchObject({ autoUnlock: false, kdf: { name: "pbkdf2-sha256" } });
    expect(existsSync(join(h.dir, "vault.key"))).toBe(false);
    await h.restart();
    await expectCode(h.vault.unlockFromKeyFile(ADMIN), "vault_locked");
    await h.vault.unlock(PASS, ADMIN);

    const toKeyFile = await h.vault.rekey(undefined, ADMIN);
    expect(toKeyFile).toMatchObject({ autoUnlock: true, kdf: { name: "key-file" } });
    expect(statSync(join(h.dir, "vault.key")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(h.dir, "vault.key.new"))).toBe(false);
    await h.restart();
    await expectCode(h.vault.unlock(PASS, ADMIN), "invalid_passphrase");
    await h.vault.unlockFromKeyFile(ADMIN);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("v");
  });

  it("needs vault:admin", async () => {
    h = await openHarness();
    await h.vault.init(PASS, ADMIN);
    const writer = actor("w", ["vault:write", "vault:read"]);
    await expectCode(h.vault.rekey("another passphrase", writer), "forbidden");
    await expectCode(h.vault.lock(writer), "forbidden");
    await expectCode(h.vault.unlock(PASS, writer), "forbidden");
    await expectCode(h.vault.rotate(writer), "forbidden");
    await h.vault.rotate(actor("va", ["vault:admin"]));
  });
});

describe("bootstrap at server start", () => {
  it("initialises the development default, then auto-unlocks it on the next start", async () => {
    const { bootstrapVault } = await import("../../../src/vault/vault-bootstrap.js");
    h = await openHarness();
    const logger = (await import("pino")).default({ level: "silent" });
    expect(await bootstrapVault(h.vault, { logger })).toMatchObject({ initialized: true, locked: false, autoUnlock: true });
    await h.restart();
    expect(await bootstrapVault(h.vault, { logger })).toMatchObject({ locked: false });
  });

  it("uses a configured passphrase, and stays locked (without throwing) when it is wrong or absent", async () => {
    const { bootstrapVault } = await import("../../../src/vault/vault-bootstrap.js");
    h = await openHarness();
    const logger = (await import("pino")).default({ level: "silent" });
    expect(await bootstrapVault(h.vault, { passphrase: PASS, logger })).toMatchObject({ locked: false, autoUnlock: false });
    await h.restart();
    expect(await bootstrapVault(h.vault, { passphrase: "wrong passphrase", logger })).toMatchObject({ locked: true });
    await h.restart();
    expect(await bootstrapVault(h.vault, { logger })).toMatchObject({ locked: true });
    await h.restart();
    expect(await bootstrapVault(h.vault, { passphrase: PASS, logger })).toMatchObject({ locked: false });
  });
});
