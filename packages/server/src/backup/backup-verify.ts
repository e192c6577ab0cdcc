/**
 * @module backup/backup-verify
 * `kai backup verify` / `POST /api/backups/{id}/verify`: proves a backup restores. The file is decrypted and its
 * hashes checked (backup-open.ts), then restored for real into a scratch SQLite database with the same copy steps
 * `restore` uses (storage/copy/copy-storage.ts, which verifies the restore against the snapshot kind by kind,
 * contents included), and the restored store's counts are compared with the manifest's: a backup whose manifest
 * disagrees with its own database is not trusted either. The scratch database is removed afterwards.
 */
import { join } from "node:path";
import { readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import type { BackupCounts, BackupVerification } from "@kai/protocol";
import { copyStorage } from "../storage/copy/copy-storage.js";
import { takeInventory } from "../storage/copy/inventory.js";
import { openStore } from "../storage/index.js";
import { openBackup } from "./backup-open.js";
import { countsOf } from "./backup-snapshot.js";

export async function verifyBackup(file: string, passphrase: string, workDir?: string): Promise<BackupVerification> {
  const opened = await openBackup(file, passphrase, workDir);
  try {
    const target = { kind: "sqlite" as const, path: join(opened.scratch, "kai.db"), checkpointIntervalMs: 0 };
    const report = await copyStorage({ from: opened.dir, keyDir: opened.dir, to: target });
    const rows = report.rows.map((row) => ({ kind: row.kind, expected: row.source, restored: row.target, ok: row.ok }));
    const store = await openStore(target);
    let restored: BackupCounts;
    try {
      const blobs = existsSync(join(opened.dir, "blobs")) ? (await readdir(join(opened.dir, "blobs"))).length : 0;
      restored = countsOf(await takeInventory(store, []), blobs);
    } finally {
      await store.close();
    }
    for (const [kind, expected] of Object.entries(opened.manifest.counts)) {
      const got = restored[kind as keyof BackupCounts];
      rows.push({ kind: `manifest: ${kind}`, expected: String(expected), restored: String(got), ok: got === expected });
    }
    return { id: opened.header.id, ok: rows.every((row) => row.ok), files: opened.manifest.files.length, counts: opened.manifest.counts, rows };
  } finally {
    await opened.dispose();
  }
}
