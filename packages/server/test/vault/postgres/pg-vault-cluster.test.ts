/**
 * One vault, several instances: two vault services, each with its own pool and data directory, over one real
 * PostgreSQL (started by the test). What users of a cluster rely on: both start with the same passphrase and
 * exactly one initialises; a secret written on one is read on the other; concurrent writes on both keep ONE
 * audit chain that verifies end to end; a rotation on one is seen by the other (which never seals anything
 * under the retired key); encryption counters add up and trigger one rotation, not one per instance; a
 * passphrase changed on one locks the other at its reload, saying why; an instance with another audit.key
 * refuses to write instead of forking the chain; and the key-file default is refused for a shared database.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type pg from "pg";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/config-schema.js";
import { createPgVaultStore } from "../../../src/storage/postgres/pg-vault-store.js";
import { migratePostgres } from "../../../src/storage/postgres/pg-migrations.js";
import { bootstrapVault } from "../../../src/vault/vault-bootstrap.js";
import { createVault, SERVER_ACTOR, type VaultService } from "../../../src/vault/vault-service.js";
import { startPostgres, type PostgresServer, testPool } from "../../helpers/postgres-server.js";
import { ADMIN, expectCode, vaultConfig } from "../core/harness.js";

const server: PostgresServer | null = await startPostgres();
const PASSPHRASE = "correct horse battery staple";

interface Instance {
  vault: VaultService;
  pool: pg.Pool;
  logs: string[];
  headerChanges: number;
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await server?.stop();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** One instance: its own pool, data dir and logger; `keyDir` holds the audit.key it shares (or not) with others. */
async function instance(url: string, keyDir: string, config: Config["vault"] = vaultConfig()): Promise<Instance> {
  const pool = testPool({ connectionString: url, max: 3 });
  pool.on("error", () => undefined);
  const logs: string[] = [];
  const logger = pino({ level: "debug" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logs.push(chunk.toString()), done()) }));
  const dataDir = await tempDir("kai-vault-instance-");
  const vault = await createVault({ store: createPgVaultStore(pool), dataDir, keyDir, config, logger });
  const made: Instance = { vault, pool, logs, headerChanges: 0 };
  vault.onHeaderChanged(() => made.headerChanges++);
  cleanups.push(async () => {
    await vault.close();
    await pool.end();
  });
  return made;
}

/** A fresh database and two instances sharing one key directory (the mounted secret holding audit.key). */
async function cluster(config?: Config["vault"]): Promise<{ url: string; keyDir: string; a: Instance; b: Instance }> {
  const url = await server!.createDatabase("vaultcluster");
  const admin = testPool({ connectionString: url, max: 1 });
  await migratePostgres(admin);
  await admin.end();
  const keyDir = await tempDir("kai-vault-keys-");
  const a = await instance(url, keyDir, config);
  const b = await instance(url, keyDir, config);
  return { url, keyDir, a, b };
}

async function startBoth(a: Instance, b: Instance): Promise<void> {
  const logger = pino({ level: "silent" });
  const statuses = await Promise.all([bootstrapVault(a.vault, { passphrase: PASSPHRASE, logger }), bootstrapVault(b.vault, { passphrase: PASSPHRASE, logger })]);
  expect(statuses.map((status) => [status.initialized, status.locked])).toEqual([
    [true, false],
    [true, false],
  ]);
}

describe.skipIf(!server)("one vault on two instances (PostgreSQL)", () => {
  it("two instances starting at once with one passphrase: exactly one initialises, the other unlocks", async () => {
    const { a, b } = await cluster();
    await startBoth(a, b);
    const inits = (await a.vault.auditEntries({ limit: 100, operation: "init" }, ADMIN)).map((entry) => entry.outcome);
    // One init committed; the other was refused as already initialised (and audited), then unlocked.
    expect(inits.filter((outcome) => outcome === "allowed")).toHaveLength(1);
    expect((await b.vault.auditEntries({ limit: 100, operation: "unlock" }, ADMIN)).some((entry) => entry.outcome === "allowed")).toBe(true);
    expect(a.headerChanges + b.headerChanges).toBe(1);
  });

  it("a secret written on either is read on both; concurrent writes from both keep one audit chain", async () => {
    const { a, b } = await cluster();
    await startBoth(a, b);
    const work: Array<Promise<unknown>> = [];
    for (let i = 0; i < 12; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
      work.push(writer.vault.putSecret(`app/key-${i}`, { value: `value-${i}` }, ADMIN));
      // Both instances add versions to one secret at once: no version number is lost or taken twice.
      work.push(writer.vault.putSecret("app/shared", { value: `shared-${i}` }, ADMIN));
      work.push(reader.vault.encrypt(`plain-${i}`, undefined, ADMIN));
    }
    await Promise.all(work);
    for (let i = 0; i < 12; i++) {
      const reader = i % 2 === 0 ? b : a;
      expect((await reader.vault.getSecret(`app/key-${i}`, ADMIN)).value).toBe(`value-${i}`);
    }
    const shared = await b.vault.getSecret("app/shared", ADMIN);
    expect(shared.version).toBe(12);
    expect((await a.vault.getSecret("app/shared", ADMIN)).value).toBe(shared.value);
    // Counters from both instances add up: 12 + 12 secret versions and 12 transit encryptions.
    expect((await a.vault.status()).encryptionsUnderCurrentKey).toBe(36);
    const fromA = await a.vault.verifyAudit(ADMIN);
    const fromB = await b.vault.verifyAudit(ADMIN);
    expect(fromA.ok && fromB.ok).toBe(true);
    expect(fromB.entries).toBeGreaterThan(fromA.entries);
    expect(fromA.entries).toBeGreaterThan(36);
  });

  it("a rotation on one is seen by the other, which never seals under the retired key", async () => {
    const { a, b } = await cluster();
    await startBoth(a, b);
    await a.vault.putSecret("db/password", { value: "hunter2" }, ADMIN);
    const before = await b.vault.encrypt("under v1", "ctx", ADMIN);
    expect(before.keyVersion).toBe(1);
    const changes = a.headerChanges;
    const changesOnB = b.headerChanges;
    const rotated = await a.vault.rotate(ADMIN);
    expect(rotated.keyVersion).toBe(2);
    expect(a.headerChanges).toBe(changes + 1);

    // B has not been told: it still holds v1 only, yet reads the secret A re-encrypted under v2 ...
    expect((await b.vault.getSecret("db/password", ADMIN)).value).toBe("hunter2");
    // ... and its next encryption is under v2 (it reloaded instead of sealing under the retired v1).
    const after = await b.vault.encrypt("under v2", "ctx", ADMIN);
    expect(after.keyVersion).toBe(2);
    expect((await a.vault.decrypt(after.ciphertext, "ctx", ADMIN)).plaintext).toBe("under v2");
    expect((await b.vault.decrypt(before.ciphertext, "ctx", ADMIN)).plaintext).toBe("under v1");
    expect(b.logs.join("")).not.toMatch(/tampering/);
    // A reload is not a change of B's own: only the instance that committed one announces it.
    expect(b.headerChanges).toBe(changesOnB);

    // A second rotation, then the signal's path: reloadFromStore brings B to v3 before it does anything.
    await a.vault.rotate(ADMIN);
    await b.vault.reloadFromStore();
    expect((await b.vault.status()).keyVersion).toBe(3);
    const onB = await b.vault.encrypt("x", undefined, ADMIN);
    expect(onB.keyVersion).toBe(3);
    expect((await a.vault.verifyAudit(ADMIN)).ok).toBe(true);
  });

  it("encryption counters add up across instances and trigger one automatic rotation, not one per instance", async () => {
    const { a, b } = await cluster(vaultConfig({ rotateAfterEncryptions: 10 }));
    await startBoth(a, b);
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).vault.encrypt(`p${i}`, undefined, ADMIN)));
    const rotations = await a.vault.auditEntries({ limit: 100, operation: "rotate", outcome: "allowed" }, ADMIN);
    expect(rotations).toHaveLength(1);
    // Either instance may be the one whose encryption crossed the threshold (the calls interleave): each has the new
    // key once it has read the shared header (a cluster signal makes it reload; here, by hand).
    await Promise.all([a.vault.reloadFromStore(), b.vault.reloadFromStore()]);
    expect((await a.vault.status()).keyVersion).toBe(2);
    expect((await b.vault.status()).keyVersion).toBe(2);
    expect((await b.vault.encrypt("next", undefined, ADMIN)).keyVersion).toBe(2);
  });

  it("a passphrase changed on one locks the other when it reloads, and says why", async () => {
    const { a, b } = await cluster();
    await startBoth(a, b);
    await a.vault.putSecret("k", { value: "v" }, ADMIN);
    const changes = a.headerChanges;
    await a.vault.rekey("a brand new passphrase", ADMIN);
    expect(a.headerChanges).toBe(changes + 1);
    await b.vault.reloadFromStore();
    expect(b.vault.isUnlocked).toBe(false);
    expect(b.logs.join("")).toMatch(/passphrase \(or key file\) was changed on another instance/);
    await expectCode(b.vault.getSecret("k", ADMIN), "vault_locked");
    await expectCode(b.vault.unlock(PASSPHRASE, ADMIN), "invalid_passphrase");
    await b.vault.unlock("a brand new passphrase", ADMIN);
    expect((await b.vault.getSecret("k", ADMIN)).value).toBe("v");
  });

  it("an instance whose keys are outdated without a reload still refuses with the new passphrase's lock, never with stale keys", async () => {
    const { a, b } = await cluster();
    await startBoth(a, b);
    await a.vault.putSecret("k", { value: "v" }, ADMIN);
    await a.vault.rekey("a brand new passphrase", ADMIN);
    // B's next operation finds the header changed, reloads, cannot open it with its old key, and locks.
    await expectCode(b.vault.putSecret("k", { value: "from b" }, ADMIN), "vault_locked");
    expect((await a.vault.getSecret("k", ADMIN)).value).toBe("v");
  });

  it("an instance started with another audit.key refuses every operation instead of forking the chain", async () => {
    const { url, a, b } = await cluster();
    await startBoth(a, b);
    await a.vault.putSecret("k", { value: "v" }, ADMIN);
    const stranger = await instance(url, await tempDir("kai-vault-other-keys-"));
    expect(stranger.logs.join("")).toMatch(/audit\.key is not the one the shared audit log is written with/);
    await expectCode(stranger.vault.unlock(PASSPHRASE, ADMIN), "unavailable");
    expect(stranger.vault.isUnlocked).toBe(false);
    await a.vault.putSecret("k", { value: "v2" }, ADMIN);
    expect(await a.vault.verifyAudit(ADMIN)).toMatchObject({ ok: true, brokenAt: null });
  });

  it("without a passphrase, instances sharing a database do not make the key-file default", async () => {
    const { a } = await cluster();
    const logs: string[] = [];
    const logger = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logs.push(chunk.toString()), done()) }));
    const status = await bootstrapVault(a.vault, { logger });
    expect(status.initialized).toBe(false);
    expect(logs.join("")).toMatch(/same KAI_VAULT_PASSPHRASE/);
    await expectCode(a.vault.init(undefined, SERVER_ACTOR), "validation_failed");
    expect((await a.vault.status()).initialized).toBe(false);
  });
});
