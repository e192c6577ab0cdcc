/**
 * @module bench/backup
 * `node bench/backup.mjs` (after `npm run build`): backup and restore at scale (issue 19). A spawned `kai serve`
 * (SQLite, production settings) is loaded with N services (100,000; BENCH_QUICK=1: 10,000) of the registry bench's
 * 600-byte record, then:
 * 1. `POST /api/backups`: the online snapshot, archived and encrypted, timed end to end; the file's size beside the
 *    live database's (kai.db + its write-ahead log), so the compression is a ratio measured in the same run;
 * 2. `POST /api/backups/{id}/verify`: decrypt, hashes, scratch restore and comparison;
 * 3. `kai backup restore` onto an empty data directory (the node stopped), timed as a user runs it (a CLI process).
 * The PBKDF2 cost is the default (it is paid once per backup, not per record). Figures only: the machine is shared.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { randomUUID } from "node:crypto";
import { spawnKai } from "./gateway/processes.mjs";
import { serviceRecordJson } from "./lib/service-record.mjs";

const quick = process.env.BENCH_QUICK === "1";
const COUNT = Number(process.env.BENCH_BACKUP_SERVICES ?? (quick ? 10_000 : 100_000));
const PASSPHRASE = "the backup benchmark's passphrase";
const CLI_MAIN = fileURLToPath(new URL("../packages/cli/dist/main.js", import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);
const seconds = (from) => (performance.now() - from) / 1000;
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

async function post(pool, path, token, body, expect) {
  const response = await pool.request({ method: "POST", path, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body), headersTimeout: 0, bodyTimeout: 0 });
  const text = await response.body.text();
  if (!expect.includes(response.statusCode)) throw new Error(`${path} → ${response.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** Loads the services: through the bulk endpoint when the node has one (batches of 1000), else one by one. */
async function load(pool, token) {
  const started = performance.now();
  const probe = await pool.request({ method: "POST", path: "/api/services/bulk", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ services: [] }) });
  await probe.body.dump();
  const bulk = probe.statusCode !== 404;
  if (bulk) {
    const BATCH = 1000;
    let next = 0;
    const worker = async () => {
      while (next < COUNT) {
        const from = next;
        next += BATCH;
        const services = [];
        for (let i = from; i < Math.min(COUNT, from + BATCH); i++) services.push(JSON.parse(serviceRecordJson({ id: `svc-${randomUUID()}`, index: i, ttl: undefined })));
        await post(pool, "/api/services/bulk", token, { services }, [200]);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } else {
    let next = 0;
    const worker = async () => {
      while (next < COUNT) {
        const index = next++;
        const response = await pool.request({ method: "POST", path: "/api/services/register", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: serviceRecordJson({ id: `svc-${randomUUID()}`, index, ttl: undefined }) });
        await response.body.dump();
        if (response.statusCode !== 201) throw new Error(`register → ${response.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  }
  return { seconds: seconds(started), bulk };
}

function runCli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kai ${args[0]} ${args[1]} exited ${code}: ${stderr.slice(-400)}`))));
  });
}

const fileBytes = (dataDir, name) => statSync(join(dataDir, name), { throwIfNoEntry: false })?.size ?? 0;

async function main() {
  log(`kAI backup benchmark: ${COUNT.toLocaleString("en-US")} services${quick ? " (BENCH_QUICK)" : ""}`);
  const kai = await spawnKai(log, ["backup:", `  passphrase: "${PASSPHRASE}"`]);
  const pool = new Pool(kai.url, { connections: 8 });
  const restoreDir = mkdtempSync(join(tmpdir(), "kai-bench-restore-"));
  let stopped = false;
  try {
    const loaded = await load(pool, kai.adminToken);
    log(`  loaded in ${loaded.seconds.toFixed(1)} s (${Math.round(COUNT / loaded.seconds)}/s, ${loaded.bulk ? "bulk endpoint" : "one by one"})`);
    // kai.db alone is the data; its write-ahead log is reported apart (its file keeps the size it once reached).
    const liveBytes = fileBytes(kai.dataDir, "kai.db");
    const walBytes = fileBytes(kai.dataDir, "kai.db-wal");

    let started = performance.now();
    const backup = await post(pool, "/api/backups", kai.adminToken, {}, [201, 200]);
    const createSeconds = seconds(started);
    const id = backup.id;
    const file = readdirSync(join(kai.dataDir, "backups")).find((name) => name.endsWith(".kaibak"));
    const backupBytes = statSync(join(kai.dataDir, "backups", file)).size;
    log(`  backup ${id}: ${createSeconds.toFixed(1)} s, ${mb(backupBytes)} MB (kai.db ${mb(liveBytes)} MB, its WAL file ${mb(walBytes)} MB)`);

    started = performance.now();
    await post(pool, `/api/backups/${encodeURIComponent(id)}/verify`, kai.adminToken, {}, [200]);
    const verifySeconds = seconds(started);
    log(`  verify: ${verifySeconds.toFixed(1)} s`);

    await pool.close();
    await kai.stop();
    stopped = true;
    started = performance.now();
    await runCli(["backup", "restore", join(kai.dataDir, "backups", file), "--data-dir", join(restoreDir, "data")], { KAI_BACKUP_PASSPHRASE: PASSPHRASE });
    const restoreSeconds = seconds(started);
    log(`  restore (kai backup restore, a CLI process): ${restoreSeconds.toFixed(1)} s`);

    console.log(`\nBackup and restore, ${COUNT.toLocaleString("en-US")} services (600-byte records), SQLite, same run`);
    console.log("| Step | Time (s) | Services/s | Size |");
    console.log("|---|---|---|---|");
    console.log(`| load (${loaded.bulk ? "bulk endpoint" : "one by one"}) | ${loaded.seconds.toFixed(1)} | ${Math.round(COUNT / loaded.seconds).toLocaleString("en-US")} | kai.db ${mb(liveBytes)} MB (WAL file ${mb(walBytes)} MB) |`);
    console.log(`| backup create (online) | ${createSeconds.toFixed(1)} | ${Math.round(COUNT / createSeconds).toLocaleString("en-US")} | ${mb(backupBytes)} MB (${(backupBytes / liveBytes).toFixed(2)}× kai.db, ${Math.round(backupBytes / COUNT)} B/service) |`);
    console.log(`| backup verify (scratch restore) | ${verifySeconds.toFixed(1)} | ${Math.round(COUNT / verifySeconds).toLocaleString("en-US")} | |`);
    console.log(`| restore (offline, CLI) | ${restoreSeconds.toFixed(1)} | ${Math.round(COUNT / restoreSeconds).toLocaleString("en-US")} | |`);
  } finally {
    if (!stopped) {
      await pool.close().catch(() => undefined);
      await kai.stop();
    }
    rmSync(restoreDir, { recursive: true, force: true });
  }
}

await main();
