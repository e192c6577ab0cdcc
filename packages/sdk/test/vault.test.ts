/**
 * `client.vault` against a real server over real sockets: secrets, transit with rewrap after rotation,
 * audit, rekey / lock / unlock, and the vault's error codes arriving as `KaiApiError`s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

const PASSPHRASE = "an sdk test passphrase";
let registry: RegistryFixture;
let writer: KaiClient;
let reader: KaiClient;
let vaultAdmin: KaiClient;

beforeAll(async () => {
  registry = await startRegistry({ vault: { pbkdf2Iterations: 10_000 } });
  writer = await registry.clientWith(["vault:read", "vault:write"], "alice");
  reader = await registry.clientWith(["vault:read"], "bob");
  vaultAdmin = await registry.clientWith(["vault:admin"], "ops");
});
afterAll(async () => {
  await registry?.close();
});

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<KaiApiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KaiApiError);
  const apiError = error as KaiApiError;
  expect({ status: apiError.status, code: apiError.code }).toEqual({ status, code });
  return apiError;
}

describe("client.vault", () => {
  it("reports status", async () => {
    const status = await reader.vault.status();
    expect(status).toMatchObject({ initialized: true, locked: false, autoUnlock: true });
  });

  it("puts, gets, lists and deletes secrets (names with slashes and characters that need encoding)", async () => {
    const info = await writer.vault.putSecret("team/openai/prod", "sk-sdk-value", { description: "prod" });
    expect(info).toMatchObject({ name: "team/openai/prod", version: 1, description: "prod" });
    expect(await writer.vault.getSecret("team/openai/prod")).toMatchObject({ value: "sk-sdk-value", version: 1 });
    await writer.vault.putSecret("team/openai/prod", "sk-sdk-value-2");
    expect((await reader.vault.getSecret("team/openai/prod")).value).toBe("sk-sdk-value-2");

    const listed = await reader.vault.listSecrets();
    expect(listed.map((secret) => secret.name)).toContain("team/openai/prod");
    expect(JSON.stringify(listed)).not.toContain("sk-sdk-value");

    await writer.vault.deleteSecret("team/openai/prod");
    await expectApiError(writer.vault.getSecret("team/openai/prod"), 404, "not_found");
    await expectApiError(writer.vault.putSecret("bad name", "x"), 400, "validation_failed");
    await expectApiError(reader.vault.putSecret("team/x", "x"), 403, "forbidden");
  });

  it("encrypts, decrypts, rotates and rewraps; forgeries fail with decryption_failed", async () => {
    const sealed = await writer.vault.encrypt("sdk transit", "ctx");
    expect(sealed.ciphertext).toMatch(/^kai:v\d+:/);
    expect(await reader.vault.decrypt(sealed.ciphertext, "ctx")).toBe("sdk transit");
    await expectApiError(reader.vault.decrypt(sealed.ciphertext, "other"), 400, "decryption_failed");
    await expectApiError(reader.vault.decrypt(sealed.ciphertext), 400, "decryption_failed");

    const rotated = await vaultAdmin.vault.rotate();
    expect(rotated.keyVersion).toBe(sealed.keyVersion + 1);
    const rewrapped = await writer.vault.rewrap(sealed.ciphertext, "ctx");
    expect(rewrapped.keyVersion).toBe(rotated.keyVersion);
    expect(await reader.vault.decrypt(rewrapped.ciphertext, "ctx")).toBe("sdk transit");
  });

  it("reads and verifies the audit log (admin only)", async () => {
    const entries = await registry.admin.vault.audit({ limit: 500 });
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.some((entry) => entry.outcome === "denied")).toBe(true);
    const denied = await registry.admin.vault.audit({ outcome: "denied" });
    expect(denied.every((entry) => entry.outcome === "denied")).toBe(true);
    const paged = await registry.admin.vault.audit({ afterSeq: entries[0]!.seq, limit: 2 });
    expect(paged.map((entry) => entry.seq)).toEqual(entries.slice(1, 3).map((entry) => entry.seq));
    expect(await registry.admin.vault.verifyAudit()).toMatchObject({ ok: true, brokenAt: null });
    await expectApiError(vaultAdmin.vault.audit(), 403, "forbidden");
  });

  it("re-keys, locks (vault_locked), refuses a wrong passphrase and unlocks", async () => {
    await writer.vault.putSecret("kept/secret", "still here");
    expect(await vaultAdmin.vault.rekey(PASSPHRASE)).toMatchObject({ autoUnlock: false, locked: false });
    expect(await vaultAdmin.vault.lock()).toMatchObject({ locked: true });
    await expectApiError(writer.vault.getSecret("kept/secret"), 503, "vault_locked");
    await expectApiError(writer.vault.encrypt("x"), 503, "vault_locked");
    await expectApiError(vaultAdmin.vault.unlock("not the passphrase"), 403, "invalid_passphrase");
    await expectApiError(vaultAdmin.vault.init(), 409, "conflict");
    expect(await vaultAdmin.vault.unlock(PASSPHRASE)).toMatchObject({ locked: false });
    expect((await writer.vault.getSecret("kept/secret")).value).toBe("still here");
  });
});
