/**
 * @module test/vault/core/harness
 * A real vault for tests: a SQLite file (or the memory store) in a fresh temp data dir, a controllable
 * clock, a logger whose lines are captured, and actors with chosen scopes and secret patterns.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { expect } from "vitest";
import type { Scope } from "@kai/protocol";
import { ApiError } from "../../../src/errors.js";
import { SqliteStore } from "../../../src/storage/sqlite/sqlite-store.js";
import type { Config } from "../../../src/config/config-schema.js";
import { createVault, type VaultService } from "../../../src/vault/vault-service.js";
import type { VaultActor } from "../../../src/vault/vault.js";
import type { Keyring } from "../../../src/vault/keyring.js";

export const LOW_ITERATIONS = 10_000;

export function vaultConfig(overrides: Partial<Config["vault"]> = {}): Config["vault"] {
  return { pbkdf2Iterations: LOW_ITERATIONS, keepVersions: 5, rotateAfterEncryptions: 1_000_000_000, freeUnlockAttempts: 3, ...overrides };
}

export function actor(owner: string, scopes: Scope[], secretPatterns?: string[]): VaultActor {
  return { tokenId: `tok-${owner}`, owner, scopes, ...(secretPatterns ? { secretPatterns } : {}), requestId: `req-${owner}` };
}

export const ADMIN = actor("root", ["admin"]);

export interface Harness {
  dir: string;
  dbPath: string;
  sqlite: SqliteStore;
  vault: VaultService;
  logLines: string[];
  keyrings: Keyring[];
  clock: { now: number };
  /** Closes the vault and the store and opens both again on the same files (a restart). */
  restart(config?: Config["vault"]): Promise<void>;
  close(): Promise<void>;
}

export async function openHarness(config: Config["vault"] = vaultConfig()): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "kai-vault-"));
  const dbPath = join(dir, "kai.db");
  const logLines: string[] = [];
  const keyrings: Keyring[] = [];
  const clock = { now: Date.parse("2030-01-01T00:00:00.000Z") };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const open = async (cfg: Config["vault"]) => {
    const sqlite = SqliteStore.open({ path: dbPath });
    const vault = await createVault({ store: sqlite.vaultStore(), dataDir: dir, config: cfg, logger, now: () => clock.now, onKeyringLoaded: (k) => keyrings.push(k) });
    return { sqlite, vault };
  };
  const first = await open(config);
  const harness: Harness = {
    dir,
    dbPath,
    sqlite: first.sqlite,
    vault: first.vault,
    logLines,
    keyrings,
    clock,
    async restart(cfg = config) {
      await harness.vault.close();
      await harness.sqlite.close();
      const next = await open(cfg);
      harness.sqlite = next.sqlite;
      harness.vault = next.vault;
    },
    async close() {
      await harness.vault.close();
      await harness.sqlite.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Awaits a rejection with an ApiError of `code`; returns it for further checks. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<ApiError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe(code);
  return error as ApiError;
}
