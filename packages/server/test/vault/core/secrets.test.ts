/**
 * Secrets on a real SQLite file: versions and retention, metadata, expiry, access policy (scopes and
 * name patterns, denials audited), swapped and tampered rows, service credentials.
 */
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { actor, ADMIN, expectCode, openHarness, vaultConfig, type Harness } from "./harness.js";

let h: Harness;
beforeEach(async () => {
  h = await openHarness(vaultConfig({ keepVersions: 3 }));
  await h.vault.init(undefined, ADMIN);
});
afterEach(async () => {
  await h.close();
});

describe("secrets", () => {
  it("keeps the last N versions, returns the newest, and records who did what when", async () => {
    const alice = actor("alice", ["vault:read", "vault:write"]);
    const bob = actor("bob", ["vault:read"]);
    for (let i = 1; i <= 7; i++) {
      h.clock.now += 1000;
      const info = await h.vault.putSecret("openai/prod", { value: `sk-${i}`, description: "OpenAI key" }, alice);
      expect(info.version).toBe(i);
    }
    const createdAt = new Date(h.clock.now - 6000).toISOString();
    h.clock.now += 1000;
    const got = await h.vault.getSecret("openai/prod", bob);
    expect(got).toMatchObject({
      value: "sk-7", version: 7, versions: [7, 6, 5], description: "OpenAI key", createdBy: "alice", createdAt, updatedBy: "alice",
      lastUsedBy: "bob", lastUsedAt: new Date(h.clock.now).toISOString(), expired: false, expiresAt: null,
    });
    const listed = await h.vault.listSecrets(bob);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: "openai/prod", versions: [7, 6, 5], lastUsedBy: "bob" });
    expect(listed[0]).not.toHaveProperty("value");
    const rows = await h.sqlite.vaultStore().getSecret("openai/prod");
    expect(rows?.versions.map((row) => row.version)).toEqual([7, 6, 5]);
  });

  it("never returns an expired secret, lists it as expired, and a new version revives it", async () => {
    const expiresAt = new Date(h.clock.now + 60_000).toISOString();
    await h.vault.putSecret("temp/token", { value: "short-lived", expiresAt }, ADMIN);
    expect((await h.vault.getSecret("temp/token", ADMIN)).value).toBe("short-lived");
    h.clock.now += 60_000;
    const error = await expectCode(h.vault.getSecret("temp/token", ADMIN), "not_found");
    expect(error.message).not.toContain("short-lived");
    expect((await h.vault.listSecrets(ADMIN))[0]).toMatchObject({ name: "temp/token", expired: true, expiresAt });
    await expectCode(h.vault.putSecret("temp/token", { value: "x", expiresAt: new Date(h.clock.now - 1).toISOString() }, ADMIN), "validation_failed");
    await h.vault.putSecret("temp/token", { value: "fresh" }, ADMIN);
    expect((await h.vault.getSecret("temp/token", ADMIN)).value).toBe("fresh");
  });

  it("deletes, and answers not_found for unknown names; refuses invalid names", async () => {
    await h.vault.putSecret("a/b", { value: "v" }, ADMIN);
    await h.vault.deleteSecret("a/b", ADMIN);
    await expectCode(h.vault.getSecret("a/b", ADMIN), "not_found");
    await expectCode(h.vault.deleteSecret("a/b", ADMIN), "not_found");
    for (const bad of ["", "/a", "a//b", "a/../b", "a b", "x".repeat(201)]) await expectCode(h.vault.getSecret(bad, ADMIN), "validation_failed");
  });

  it("stores a service's credential for any actor, as a new version on overwrite", async () => {
    const registrar = actor("svc-owner", ["services:write"]);
    expect(await h.vault.storeServiceCredential("my-llm", "tok-1", registrar)).toBe("vault:services/my-llm/credential");
    expect(await h.vault.storeServiceCredential("my-llm", "tok-2", registrar)).toBe("vault:services/my-llm/credential");
    const stored = await h.vault.getSecret("services/my-llm/credential", ADMIN);
    expect(stored).toMatchObject({ value: "tok-2", version: 2, createdBy: "svc-owner" });
    // Identifiers may hold : and @, secret names may not: they are escaped, injectively.
    expect(await h.vault.storeServiceCredential("team:a@b_c", "t", registrar)).toBe("vault:services/team_3Aa_40b_5Fc/credential");
    // The registrar itself has no vault scope to read it back.
    await expectCode(h.vault.getSecret("services/my-llm/credential", registrar), "forbidden");
  });
});

describe("access policy", () => {
  it("checks scopes and secret patterns, and audits every denial", async () => {
    await h.vault.putSecret("openai/prod", { value: "o" }, ADMIN);
    await h.vault.putSecret("openai/prod/old", { value: "old" }, ADMIN);
    await h.vault.putSecret("anthropic/prod", { value: "a" }, ADMIN);
    await h.vault.putSecret("services/x/credential", { value: "s" }, ADMIN);

    const reader = actor("reader", ["vault:read"]);
    const writer = actor("writer", ["vault:write"]);
    const limited = actor("limited", ["vault:read", "vault:write"], ["openai/*", "services/**"]);
    const nobody = actor("nobody", ["services:read"]);

    expect((await h.vault.getSecret("anthropic/prod", reader)).value).toBe("a");
    await expectCode(h.vault.putSecret("anthropic/prod", { value: "x" }, reader), "forbidden");
    await expectCode(h.vault.deleteSecret("anthropic/prod", reader), "forbidden");
    await expectCode(h.vault.getSecret("anthropic/prod", writer), "forbidden");
    await h.vault.putSecret("anthropic/dev", { value: "d" }, writer);
    await expectCode(h.vault.listSecrets(nobody), "forbidden");
    await expectCode(h.vault.encrypt("x", undefined, reader), "forbidden");
    await expectCode(h.vault.auditEntries({ limit: 10 }, actor("va", ["vault:admin"])), "forbidden");
    await expectCode(h.vault.verifyAudit(reader), "forbidden");

    expect((await h.vault.getSecret("openai/prod", limited)).value).toBe("o");
    expect((await h.vault.getSecret("services/x/credential", limited)).value).toBe("s");
    await expectCode(h.vault.getSecret("openai/prod/old", limited), "forbidden");
    await expectCode(h.vault.getSecret("anthropic/prod", limited), "forbidden");
    await expectCode(h.vault.putSecret("anthropic/prod", { value: "x" }, limited), "forbidden");
    expect((await h.vault.listSecrets(limited)).map((s) => s.name)).toEqual(["openai/prod", "services/x/credential"]);

    const denied = await h.vault.auditEntries({ limit: 1000, outcome: "denied" }, ADMIN);
    expect(denied.map((e) => `${e.actor}:${e.operation}`)).toEqual([
      "reader:secret.put", "reader:secret.delete", "writer:secret.get", "nobody:secret.list", "reader:transit.encrypt",
      "va:audit.read", "reader:audit.verify", "limited:secret.get", "limited:secret.get", "limited:secret.put",
    ]);
    for (const entry of denied) {
      expect(entry.tokenId).toBe(`tok-${entry.actor}`);
      expect(entry.requestId).toBe(`req-${entry.actor}`);
      if (entry.secret !== null) expect(entry.secret).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    }
    // The name is hashed, consistently: the two denied reads of different names differ.
    const limitedGets = denied.filter((e) => e.actor === "limited" && e.operation === "secret.get").map((e) => e.secret);
    expect(new Set(limitedGets).size).toBe(2);
    expect(JSON.stringify(await h.vault.auditEntries({ limit: 1000 }, ADMIN))).not.toContain("anthropic");
  });
});

describe("stored rows", () => {
  function db() {
    return new BetterSqlite3(h.dbPath);
  }

  it("a row copied onto another name fails to decrypt (and nothing leaks)", async () => {
    await h.vault.putSecret("a", { value: "value of a" }, ADMIN);
    await h.vault.putSecret("b", { value: "value of b" }, ADMIN);
    const conn = db();
    conn.prepare("UPDATE vault_secret_versions SET ciphertext = (SELECT ciphertext FROM vault_secret_versions WHERE name = 'a') WHERE name = 'b'").run();
    conn.close();
    const error = await expectCode(h.vault.getSecret("b", ADMIN), "vault_tampered");
    expect(error.message).not.toContain("value of");
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("value of a");
    const failed = await h.vault.auditEntries({ limit: 10, outcome: "failed" }, ADMIN);
    expect(failed.map((e) => e.reason)).toEqual(["tampered: secret b: its current ciphertext failed to decrypt"]);
  });

  it("a row relabelled to another version or key version, or with any byte flipped, fails", async () => {
    await h.vault.putSecret("a", { value: "v1" }, ADMIN);
    await h.vault.putSecret("a", { value: "v2" }, ADMIN);
    const conn = db();
    const original = (conn.prepare("SELECT ciphertext FROM vault_secret_versions WHERE name = 'a' AND version = 2").get() as { ciphertext: Buffer }).ciphertext;
    const put = (bytes: Buffer) => conn.prepare("UPDATE vault_secret_versions SET ciphertext = ? WHERE name = 'a' AND version = 2").run(bytes);
    // Version 1's ciphertext presented as version 2.
    put((conn.prepare("SELECT ciphertext FROM vault_secret_versions WHERE name = 'a' AND version = 1").get() as { ciphertext: Buffer }).ciphertext);
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
    for (const position of [0, 1, 4, 5, 16, 17, original.length - 17, original.length - 1]) {
      const copy = Buffer.from(original);
      copy[position]! ^= 0x01;
      put(copy);
      await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
    }
    put(original.subarray(0, original.length - 1));
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
    // Relabelled as under key version 2 (a key that does not exist yet), then after a rotation made it exist.
    const relabelled = Buffer.from(original);
    relabelled.writeUInt32BE(2, 1);
    put(relabelled);
    await expectCode(h.vault.getSecret("a", ADMIN), "vault_tampered");
    put(original);
    expect((await h.vault.getSecret("a", ADMIN)).value).toBe("v2");
    conn.close();
  });
});
