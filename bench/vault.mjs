/**
 * @module bench/vault
 * `node bench/vault.mjs` (after `npm run build`): the credential vault's figures.
 * 1. Unlock time next to the bare PBKDF2 cost at the same iterations: unlock should cost the KDF and no more.
 * 2. Secret reads per second in process (the Vault object over SQLite, synchronous=FULL), sequential and
 *    with 64 in flight (reads write a last-used time and an audit entry, so group commit matters).
 * 3. Secret reads per second through the API (`PUT/GET /api/vault/secrets/{name}` on a spawned `kai serve`),
 *    when the built server has the vault routes; otherwise reported as skipped.
 * 4. Rotation time for 10,000 secrets (every one re-encrypted in one transaction).
 * Prints figures only. BENCH_QUICK=1 for smaller sizes.
 */
import { pbkdf2 } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pino from "pino";

const DIST = fileURLToPath(new URL("../packages/server/dist/", import.meta.url));
if (!existsSync(join(DIST, "vault/vault-service.js"))) {
  process.stderr.write("bench/vault: packages/server/dist is not built (run npm run build)\n");
  process.exit(1);
}
const { createVault, SERVER_ACTOR } = await import(join(DIST, "vault/vault-service.js"));
const { SqliteStore } = await import(join(DIST, "storage/sqlite/sqlite-store.js"));

const quick = process.env.BENCH_QUICK === "1";
const ITERATIONS = 600_000;
const SECRETS_TO_ROTATE = quick ? 1000 : 10_000;
const READS = quick ? 2000 : 20_000;
const log = (message) => process.stdout.write(`${message}\n`);
const ms = (start) => performance.now() - start;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const config = { pbkdf2Iterations: ITERATIONS, keepVersions: 5, rotateAfterEncryptions: 1_000_000_000, freeUnlockAttempts: 3 };
const logger = pino({ level: "silent" });

async function openVault(dir) {
  const sqlite = SqliteStore.open({ path: join(dir, "kai.db"), synchronous: "full" });
  const vault = await createVault({ store: sqlite.vaultStore(), dataDir: dir, config, logger });
  return { sqlite, vault };
}

const dir = mkdtempSync(join(tmpdir(), "kai-bench-vault-"));
try {
  log(`kAI vault benchmark${quick ? " (BENCH_QUICK)" : ""}: Node ${process.version}`);

  // 1. unlock vs bare KDF
  const passphrase = "benchmark passphrase 1234";
  let { sqlite, vault } = await openVault(dir);
  await vault.init(passphrase, SERVER_ACTOR);
  const bare = [];
  const unlock = [];
  for (let i = 0; i < 7; i++) {
    let start = performance.now();
    await promisify(pbkdf2)(passphrase, "0123456789abcdef", ITERATIONS, 32, "sha256");
    bare.push(ms(start));
    await vault.lock(SERVER_ACTOR);
    start = performance.now();
    await vault.unlock(passphrase, SERVER_ACTOR);
    unlock.push(ms(start));
  }
  log(`unlock (PBKDF2-SHA256 ${ITERATIONS} it.): median ${median(unlock).toFixed(1)} ms; bare PBKDF2 median ${median(bare).toFixed(1)} ms; overhead ${(median(unlock) - median(bare)).toFixed(1)} ms`);

  // 2. in-process reads
  for (let i = 0; i < 100; i++) await vault.putSecret(`bench/s${i}`, { value: `value-${i}-${"x".repeat(40)}` }, SERVER_ACTOR);
  let start = performance.now();
  for (let i = 0; i < READS / 10; i++) await vault.getSecret(`bench/s${i % 100}`, SERVER_ACTOR);
  log(`in-process reads, one at a time: ${Math.round((READS / 10) / (ms(start) / 1000))}/s (each read writes last-used + an audit entry, fsynced)`);
  start = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < READS) {
      const i = next++;
      await vault.getSecret(`bench/s${i % 100}`, SERVER_ACTOR);
    }
  }));
  log(`in-process reads, 64 in flight: ${Math.round(READS / (ms(start) / 1000))}/s`);

  // 4. rotation of N secrets
  const batch = 500;
  for (let i = 0; i < SECRETS_TO_ROTATE; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, SECRETS_TO_ROTATE - i) }, (_, j) => vault.putSecret(`rot/${i + j}`, { value: `rotate-me-${i + j}` }, SERVER_ACTOR)));
  }
  start = performance.now();
  const rotated = await vault.rotate(SERVER_ACTOR);
  log(`rotation: ${rotated.reencrypted} secret versions re-encrypted in one transaction in ${ms(start).toFixed(0)} ms`);
  await vault.close();
  await sqlite.close();

  // 3. through the API
  const { registryUnavailable, startRegistryServer } = await import("./registry/server-process.mjs");
  const why = registryUnavailable();
  if (why) {
    log(`API reads: skipped (${why})`);
  } else {
    const server = await startRegistryServer({ synchronous: "full" });
    try {
      const headers = { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" };
      const put = await fetch(`${server.url}/api/vault/secrets/bench/api`, { method: "PUT", headers, body: JSON.stringify({ value: "api-value" }) });
      if (!put.ok) {
        log(`API reads: skipped (PUT /api/vault/secrets answered ${put.status}: the vault routes are not wired in this build)`);
      } else {
        const { Agent } = await import("undici");
        const dispatcher = new Agent({ connections: 16 });
        const total = quick ? 2000 : 10_000;
        let sent = 0;
        start = performance.now();
        await Promise.all(Array.from({ length: 32 }, async () => {
          while (sent < total) {
            sent++;
            const response = await fetch(`${server.url}/api/vault/secrets/bench/api`, { headers, dispatcher });
            if (!response.ok) throw new Error(`GET answered ${response.status}`);
            await response.arrayBuffer();
          }
        }));
        log(`API reads (GET /api/vault/secrets/{name}, 32 in flight): ${Math.round(total / (ms(start) / 1000))}/s`);
        await dispatcher.close();
      }
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
