/**
 * A backup's manifest counts what people look for after a restore, sign-in included: custom roles, TOTP factors,
 * unused recovery codes and passkeys (before, only users, sessions and security events were counted, so a backup
 * that had lost every second factor still listed as whole; the restore's comparison caught it, `kai backup list`,
 * `create` and the web app's Backups page did not show it). A manifest written before these were counted still reads.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BackupCountsSchema } from "@kai/protocol";
import { countsOf } from "../../src/backup/backup-snapshot.js";
import { takeInventory } from "../../src/storage/copy/inventory.js";
import { openStore } from "../../src/storage/index.js";
import { addIdentityData } from "../storage/identity-copy-data.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("a backup's counts", () => {
  it("count custom roles, TOTP factors, unused recovery codes and passkeys", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kai-backup-counts-"));
    dirs.push(dataDir);
    // One custom role; one person with TOTP, three recovery codes of which one is used, and a passkey.
    await addIdentityData(dataDir);
    const store = await openStore({ kind: "sqlite", path: join(dataDir, "kai.db") });
    try {
      const counts = countsOf(await takeInventory(store, []), 0);
      expect(counts).toMatchObject({ users: 2, roles: 1, totpFactors: 1, recoveryCodes: 2, passkeys: 1 });
      expect(BackupCountsSchema.parse(counts)).toEqual(counts);
    } finally {
      await store.close();
    }
  });

  it("still read from a manifest written before they were counted", () => {
    const older = countsOfOlderManifest();
    expect(BackupCountsSchema.parse(older)).toEqual(older);
    expect(BackupCountsSchema.safeParse({ ...older, passkeys: -1 }).success).toBe(false);
  });
});

/** The counts of a manifest written before roles, factors and passkeys were counted. */
function countsOfOlderManifest() {
  return {
    services: 3, tokens: 2, secrets: 1, secretVersions: 1, auditEntries: 4, peers: 0, imports: 0, users: 1, sessions: 1,
    securityEvents: 2, tasks: 0, taskEvents: 0, artifacts: 0, prompts: 0, promptVersions: 0, memories: 0, pushConfigs: 0, blobs: 0,
  };
}
