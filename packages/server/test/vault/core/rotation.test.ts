/**
 * Data-key rotation and transit encryption: every secret (many names, several versions) still readable
 * after rotations and restarts, rows re-encrypted under the new version in one go, automatic rotation at
 * a threshold with counters that survive a restart, transit decrypt/rewrap across rotations.
 */
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { actor, ADMIN, expectCode, openHarness, vaultConfig, type Harness } from "./harness.js";

const PASS = "rotation passphrase";
let h: Harness;
afterEach(async () => {
  await h?.close();
});

function keyVersionsOfRows(path: string): number[] {
  const db = new BetterSqlite3(path, { readonly: true });
  const rows = db.prepare("SELECT DISTINCT key_version AS v FROM vault_secret_versions ORDER BY v").all() as Array<{ v: number }>;
  db.close();
  return rows.map((row) => row.v);
}

describe("rotation", () => {
  it("re-encrypts every version of every secret under a new key; all stay readable across restarts", async () => {
    h = await openHarness(vaultConfig({ keepVersions: 3 }));
    await h.vault.init(PASS, ADMIN);
    const expected = new Map<string, string>();
    for (let round = 1; round <= 3; round++) {
      await Promise.all(Array.from({ length: 60 }, (_, i) => {
        expected.set(`app/${i}`, `secret-${i}-r${round}`);
        return h.vault.putSecret(`app/${i}`, { value: `secret-${i}-r${round}` }, ADMIN);
      }));
    }
    expect(keyVersionsOfRows(h.dbPath)).toEqual([1]);
    const result = await h.vault.rotate(ADMIN);
    expect(result).toEqual({ keyVersion: 2, reencrypted: 180, retiredVersions: [1], skipped: [] });
    expect(keyVersionsOfRows(h.dbPath)).toEqual([2]);
    expect((await h.vault.status())).toMatchObject({ keyVersion: 2, encryptionsUnderCurrentKey: 180 });

    // Writes during a rotation land either before or after it, never under a key that is then dropped.
    const during = Promise.all([
      h.vault.putSecret("app/0", { value: "during-0" }, ADMIN),
      h.vault.rotate(ADMIN),
      h.vault.putSecret("app/1", { value: "during-1" }, ADMIN),
      h.vault.rotate(ADMIN),
    ]);
    expected.set("app/0", "during-0");
    expected.set("app/1", "during-1");
    await during;
    expect(keyVersionsOfRows(h.dbPath)).toEqual([4]);

    await h.restart();
    await h.vault.unlock(PASS, ADMIN);
    for (const [name, value] of expected) expect((await h.vault.getSecret(name, ADMIN)).value).toBe(value);
    // Older kept versions were re-encrypted too: check them through a rotation that must decrypt them all.
    expect((await h.vault.rotate(ADMIN)).reencrypted).toBe(180);
    await h.restart();
    await h.vault.unlock(PASS, ADMIN);
    for (const [name, value] of expected) expect((await h.vault.getSecret(name, ADMIN)).value).toBe(value);
  });

  it("skips and reports a secret that fails its integrity check, and rotates every other one", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    for (let i = 0; i < 5; i++) await h.vault.putSecret(`s/${i}`, { value: `v${i}` }, ADMIN);
    await h.vault.putSecret("s/1", { value: "v1 second" }, ADMIN);
    const db = new BetterSqlite3(h.dbPath);
    // s/3: another secret's ciphertext; s/1: its head rolled back to version 1 (still kept).
    db.prepare("UPDATE vault_secret_versions SET ciphertext = (SELECT ciphertext FROM vault_secret_versions WHERE name = 's/0') WHERE name = 's/3'").run();
    db.prepare("UPDATE vault_secrets SET version = 1 WHERE name = 's/1'").run();
    db.close();
    const logged = h.logLines.length;

    const result = await h.vault.rotate(ADMIN);
    expect(result).toEqual({ keyVersion: 2, reencrypted: 3, retiredVersions: [1], skipped: ["s/1", "s/3"] });
    const rows = new BetterSqlite3(h.dbPath, { readonly: true });
    const byName = rows.prepare("SELECT name, key_version AS v FROM vault_secret_versions ORDER BY name, version").all() as Array<{ name: string; v: number }>;
    rows.close();
    expect(byName).toEqual([
      { name: "s/0", v: 2 }, { name: "s/1", v: 1 }, { name: "s/1", v: 1 }, { name: "s/2", v: 2 }, { name: "s/3", v: 1 }, { name: "s/4", v: 2 },
    ]);
    for (const i of [0, 2, 4]) expect((await h.vault.getSecret(`s/${i}`, ADMIN)).value).toBe(`v${i}`);
    await expectCode(h.vault.getSecret("s/1", ADMIN), "vault_tampered");
    await expectCode(h.vault.getSecret("s/3", ADMIN), "vault_tampered");

    // Each skipped secret: one error line naming it (never a value), and a failed audit entry.
    const lines = h.logLines.slice(logged).join("");
    expect(lines).toMatch(/tampering detected: secret s\/1: its metadata .*rotation left it as it was/);
    expect(lines).toMatch(/tampering detected: secret s\/3: its version 1 failed to decrypt; rotation left it as it was/);
    expect(lines).not.toMatch(/v\d second|"v[0-4]"/);
    const failed = await h.vault.auditEntries({ limit: 100, operation: "rotate", outcome: "failed" }, ADMIN);
    expect(failed).toHaveLength(2);
    expect(failed.every((entry) => entry.reason?.startsWith("tampered: ") && entry.secret?.startsWith("hmac-sha256:"))).toBe(true);
    const allowed = await h.vault.auditEntries({ limit: 100, operation: "rotate", outcome: "allowed" }, ADMIN);
    expect(allowed.map((entry) => entry.reason)).toEqual(["v2, re-encrypted 3, skipped 2 tampered secret(s)"]);

    // The rotated secrets survive a restart under the new key.
    await h.restart();
    await h.vault.unlockFromKeyFile(ADMIN);
    expect((await h.vault.getSecret("s/4", ADMIN)).value).toBe("v4");
  });

  it("rotates automatically at the configured number of encryptions; counters survive a restart", async () => {
    h = await openHarness(vaultConfig({ rotateAfterEncryptions: 1000 }));
    await h.vault.init(undefined, ADMIN);
    await h.vault.putSecret("kept", { value: "still here" }, ADMIN);
    for (let batch = 0; batch < 9; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => h.vault.encrypt(`m${batch}-${i}`, undefined, ADMIN)));
    }
    const before = await h.vault.status();
    expect(before).toMatchObject({ keyVersion: 1, encryptionsUnderCurrentKey: 901 });
    await h.restart();
    expect((await h.vault.status()).encryptionsUnderCurrentKey).toBe(901);
    await h.vault.unlockFromKeyFile(ADMIN);
    await Promise.all(Array.from({ length: 99 }, (_, i) => h.vault.encrypt(`n${i}`, undefined, ADMIN)));
    expect((await h.vault.status()).keyVersion).toBe(2);
    expect((await h.vault.status()).encryptionsUnderCurrentKey).toBe(1);
    expect((await h.vault.getSecret("kept", ADMIN)).value).toBe("still here");
    const rotations = await h.vault.auditEntries({ limit: 10, operation: "rotate" }, ADMIN);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ actor: "kai-server", tokenId: null, outcome: "allowed" });
  });
});

describe("transit", () => {
  it("encrypts, decrypts with associated data, rewraps after rotation, and forgets versions beyond the window", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    const writer = actor("w", ["vault:write"]);
    const reader = actor("r", ["vault:read"]);
    const v1 = await h.vault.encrypt("customer record", "tenant-7", writer);
    expect(v1.ciphertext).toMatch(/^kai:v1:/);
    expect((await h.vault.decrypt(v1.ciphertext, "tenant-7", reader)).plaintext).toBe("customer record");
    await expectCode(h.vault.decrypt(v1.ciphertext, undefined, writer), "forbidden");

    const failures = await Promise.all(
      [
        h.vault.decrypt(v1.ciphertext, "tenant-8", reader),
        h.vault.decrypt(v1.ciphertext, undefined, reader),
        h.vault.decrypt(v1.ciphertext.replace("kai:v1:", "kai:v9:"), "tenant-7", reader),
        h.vault.decrypt(v1.ciphertext.slice(0, -4), "tenant-7", reader),
        h.vault.decrypt("garbage", "tenant-7", reader),
      ].map((call) => expectCode(call, "decryption_failed")),
    );
    expect(new Set(failures.map((e) => e.message))).toEqual(new Set(["decryption failed"]));

    await h.vault.rotate(ADMIN);
    expect((await h.vault.decrypt(v1.ciphertext, "tenant-7", reader)).plaintext).toBe("customer record");
    const rewrapped = await h.vault.rewrap(v1.ciphertext, "tenant-7", writer);
    expect(rewrapped.keyVersion).toBe(2);
    expect(rewrapped.ciphertext).toMatch(/^kai:v2:/);
    await expectCode(h.vault.rewrap(v1.ciphertext, "other", writer), "decryption_failed");

    // Two retired versions stay decryptable; the third rotation drops v1.
    await h.vault.rotate(ADMIN);
    expect((await h.vault.decrypt(v1.ciphertext, "tenant-7", reader)).plaintext).toBe("customer record");
    const third = await h.vault.rotate(ADMIN);
    expect(third.keyVersion).toBe(4);
    await expectCode(h.vault.decrypt(v1.ciphertext, "tenant-7", reader), "decryption_failed");
    expect((await h.vault.decrypt(rewrapped.ciphertext, "tenant-7", reader)).plaintext).toBe("customer record");
    await h.restart();
    await h.vault.unlockFromKeyFile(ADMIN);
    expect((await h.vault.decrypt(rewrapped.ciphertext, "tenant-7", reader)).plaintext).toBe("customer record");
  });

  it("two encryptions of the same plaintext differ; unicode survives", async () => {
    h = await openHarness();
    await h.vault.init(undefined, ADMIN);
    const a = await h.vault.encrypt("héllo ✓ 🔑", undefined, ADMIN);
    const b = await h.vault.encrypt("héllo ✓ 🔑", undefined, ADMIN);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect((await h.vault.decrypt(a.ciphertext, undefined, ADMIN)).plaintext).toBe("héllo ✓ 🔑");
  });
});
