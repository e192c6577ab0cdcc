/**
 * The vault's REST and transit routes through a real server over real sockets: secrets round trip with
 * `Cache-Control: no-store`, scopes and secret patterns enforced by the vault (and audited as denials),
 * expiry, transit encrypt/decrypt with associated data, rewrap after rotation, one generic
 * `decryption_failed` for every forgery, rekey to a passphrase, the locked state (503 `vault_locked` on
 * every route that needs a key), and the audit log with its chain verification.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditListResponseSchema, AuditVerifyResponseSchema, ErrorBodySchema, ListSecretsResponseSchema, SecretValueResponseSchema, VaultStatusSchema } from "@kai/protocol";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FAST_VAULT, PASSPHRASE, call, codeOf, mintVaultToken } from "./support.js";

let server: TestServer;
let writer: string;
let reader: string;
let servicesOnly: string;
let vaultAdmin: string;
let openaiOnly: string;

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false }, vault: FAST_VAULT } });
  writer = await mintVaultToken(server, ["vault:write"]);
  reader = await mintVaultToken(server, ["vault:read"]);
  servicesOnly = await mintVaultToken(server, ["services:read", "services:write", "services:heartbeat"]);
  vaultAdmin = await mintVaultToken(server, ["vault:admin"], "ops");
  openaiOnly = await mintVaultToken(server, ["vault:read", "vault:write"], "bob", ["openai/*"]);
});
afterAll(async () => server?.dispose());

const put = (name: string, value: string, token = writer, extra: Record<string, unknown> = {}) =>
  call(server, `/api/vault/secrets/${name}`, { method: "PUT", token, json: { value, ...extra } });
const get = (name: string, token = reader) => call(server, `/api/vault/secrets/${name}`, { token });

describe("status", () => {
  it("answers any valid token: the development default is initialised, unlocked, key file", async () => {
    const answer = await call(server, "/api/vault/status", { token: servicesOnly });
    expect(answer.status).toBe(200);
    const status = VaultStatusSchema.parse(answer.body);
    expect(status).toMatchObject({ initialized: true, locked: false, autoUnlock: true });
    expect(status.keyVersion).toBeGreaterThanOrEqual(1);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect((await call(server, "/api/vault/status", { token: null })).status).toBe(401);
  });
});

describe("secrets", () => {
  it("stores, reads (no-store), lists without values, versions and deletes a secret whose name has slashes", async () => {
    const first = await put("openai/prod", "sk-first-value", writer, { description: "the prod key" });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ name: "openai/prod", version: 1, createdBy: "alice", description: "the prod key" });
    expect(first.text).not.toContain("sk-first-value");
    const second = await put("openai/prod", "sk-second-value");
    expect(second.body).toMatchObject({ version: 2 });

    const read = await get("openai/prod");
    expect(read.status).toBe(200);
    expect(read.headers.get("cache-control")).toBe("no-store");
    const secret = SecretValueResponseSchema.parse(read.body);
    expect(secret).toMatchObject({ name: "openai/prod", value: "sk-second-value", version: 2 });
    expect(secret.versions.slice(0, 2)).toEqual([2, 1]);

    const listed = await call(server, "/api/vault/secrets", { token: reader });
    expect(listed.status).toBe(200);
    const { secrets } = ListSecretsResponseSchema.parse(listed.body);
    expect(secrets.map((s) => s.name)).toContain("openai/prod");
    expect(listed.text).not.toContain("sk-second-value");
    expect(listed.text).not.toContain('"value"');
    const usedBy = secrets.find((s) => s.name === "openai/prod");
    expect(usedBy?.lastUsedBy).toBe("alice");

    await put("tmp/deleteme", "short-lived");
    const deleted = await call(server, "/api/vault/secrets/tmp/deleteme", { method: "DELETE", token: writer });
    expect(deleted.status).toBe(204);
    expect(codeOf(await get("tmp/deleteme"))).toBe("not_found");
    expect((await get("never/was")).status).toBe(404);
  });

  it("validates names and bodies with 400 validation_failed", async () => {
    for (const name of ["bad%20name", "a//b", ".hidden", "x/"]) {
      const answer = await put(name, "v");
      expect(answer.status, `${name} → ${answer.text}`).toBe(400);
      expect(codeOf(answer)).toBe("validation_failed");
    }
    expect(codeOf(await call(server, "/api/vault/secrets/ok-name", { method: "PUT", token: writer, json: { value: "" } }))).toBe("validation_failed");
    expect(codeOf(await call(server, "/api/vault/secrets/ok-name", { method: "PUT", token: writer, json: { value: "v", extra: 1 } }))).toBe("validation_failed");
  });

  it("enforces scopes inside the vault: 403 forbidden without vault:read / vault:write / vault:admin", async () => {
    await put("scoped/one", "scoped-value");
    expect(codeOf(await put("scoped/two", "x", reader))).toBe("forbidden");
    expect(codeOf(await get("scoped/one", writer))).toBe("forbidden");
    expect(codeOf(await get("scoped/one", servicesOnly))).toBe("forbidden");
    expect(codeOf(await call(server, "/api/vault/secrets", { token: servicesOnly }))).toBe("forbidden");
    expect(codeOf(await call(server, "/api/vault/secrets/scoped/one", { method: "DELETE", token: reader }))).toBe("forbidden");
    for (const path of ["/api/vault/lock", "/api/vault/rotate"]) {
      expect(codeOf(await call(server, path, { method: "POST", token: writer })), path).toBe("forbidden");
    }
    expect(codeOf(await call(server, "/api/vault/unlock", { method: "POST", token: reader, json: { passphrase: PASSPHRASE } }))).toBe("forbidden");
    expect(codeOf(await call(server, "/api/vault/rekey", { method: "POST", token: writer, json: { newPassphrase: PASSPHRASE } }))).toBe("forbidden");
    // The audit log is for admins only; vault:admin is not enough.
    expect(codeOf(await call(server, "/api/vault/audit", { token: vaultAdmin }))).toBe("forbidden");
    expect(codeOf(await call(server, "/api/vault/audit/verify", { token: vaultAdmin }))).toBe("forbidden");
    // The secret survived every refused attempt.
    expect((await get("scoped/one")).body).toMatchObject({ value: "scoped-value" });
  });

  it("limits a token to its secret patterns for reads, writes and listings", async () => {
    await put("anthropic/prod", "not-for-bob");
    const own = await put("openai/bob", "bobs-key", openaiOnly);
    expect(own.status, own.text).toBe(200);
    expect((await get("openai/bob", openaiOnly)).body).toMatchObject({ value: "bobs-key" });
    expect(codeOf(await get("anthropic/prod", openaiOnly))).toBe("forbidden");
    expect(codeOf(await put("anthropic/bob", "x", openaiOnly))).toBe("forbidden");
    // `*` stays within one segment.
    expect(codeOf(await put("openai/team/deep", "x", openaiOnly))).toBe("forbidden");
    const listed = await call(server, "/api/vault/secrets", { token: openaiOnly });
    const names = ListSecretsResponseSchema.parse(listed.body).secrets.map((s) => s.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((name) => /^openai\/[^/]+$/.test(name)), names.join(",")).toBe(true);
  });

  it("never returns an expired secret (404), and lists it as expired", async () => {
    const expiresAt = new Date(Date.now() + 1200).toISOString();
    expect((await put("expiring/soon", "gone-soon", writer, { expiresAt })).status).toBe(200);
    expect((await get("expiring/soon")).body).toMatchObject({ value: "gone-soon" });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await get("expiring/soon");
    expect(after.status).toBe(404);
    expect(after.text).not.toContain("gone-soon");
    const listed = ListSecretsResponseSchema.parse((await call(server, "/api/vault/secrets", { token: reader })).body);
    expect(listed.secrets.find((s) => s.name === "expiring/soon")).toMatchObject({ expired: true });
  });
});

describe("transit", () => {
  const encrypt = (plaintext: string, associatedData?: string, token = writer) =>
    call<{ ciphertext: string; keyVersion: number }>(server, "/vault/encrypt", { method: "POST", token, json: { plaintext, ...(associatedData !== undefined ? { associatedData } : {}) } });
  const decrypt = (ciphertext: string, associatedData?: string, token = reader) =>
    call<{ plaintext: string }>(server, "/vault/decrypt", { method: "POST", token, json: { ciphertext, ...(associatedData !== undefined ? { associatedData } : {}) } });

  it("round-trips text, binds associated data, and answers every forgery with the same decryption_failed", async () => {
    const sealed = await encrypt("transit plaintext ✓", "tenant-a");
    expect(sealed.status, sealed.text).toBe(200);
    expect(sealed.body.ciphertext).toMatch(/^kai:v\d+:[A-Za-z0-9_-]+$/);
    expect(sealed.text).not.toContain("transit plaintext");
    expect(sealed.headers.get("cache-control")).toBe("no-store");
    const opened = await decrypt(sealed.body.ciphertext, "tenant-a");
    expect(opened.status).toBe(200);
    expect(opened.body.plaintext).toBe("transit plaintext ✓");
    // Two encryptions of the same text differ (random nonce).
    expect((await encrypt("transit plaintext ✓", "tenant-a")).body.ciphertext).not.toBe(sealed.body.ciphertext);

    const ciphertext = sealed.body.ciphertext;
    const payload = ciphertext.slice(ciphertext.lastIndexOf(":") + 1);
    const prefix = ciphertext.slice(0, ciphertext.lastIndexOf(":") + 1);
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    const forgeries: [string, string | undefined][] = [
      [ciphertext, "tenant-b"], // wrong associated data
      [ciphertext, undefined], // associated data left out
      [prefix + flip(payload, 2), "tenant-a"], // flipped nonce
      [prefix + flip(payload, Math.floor(payload.length / 2)), "tenant-a"], // flipped ciphertext
      [prefix + flip(payload, payload.length - 2), "tenant-a"], // flipped tag
      [prefix + payload.slice(0, 20), "tenant-a"], // truncated
      [`kai:v999:${payload}`, "tenant-a"], // unknown key version
    ];
    const messages = new Set<string>();
    for (const [forged, ad] of forgeries) {
      const answer = await decrypt(forged, ad);
      expect(answer.status, `${forged} → ${answer.text}`).toBe(400);
      const body = ErrorBodySchema.parse(answer.body);
      expect(body.error.code).toBe("decryption_failed");
      expect(answer.text).not.toContain("transit plaintext");
      messages.add(body.error.message);
    }
    expect([...messages]).toHaveLength(1);
    // Not a ciphertext at all: that is a malformed request, not a decryption.
    expect(codeOf(await decrypt("plain text", "tenant-a"))).toBe("validation_failed");
  });

  it("needs vault:write to encrypt and vault:read to decrypt", async () => {
    expect(codeOf(await encrypt("x", undefined, reader))).toBe("forbidden");
    const sealed = await encrypt("only readers may open");
    expect(codeOf(await decrypt(sealed.body.ciphertext, undefined, writer))).toBe("forbidden");
    expect(codeOf(await encrypt("x", undefined, servicesOnly))).toBe("forbidden");
  });

  it("rotates: a new key version, every secret still readable, old ciphertexts rewrapped to the new version", async () => {
    await put("rotate/a", "value-a");
    await put("rotate/b", "value-b");
    const before = await encrypt("rewrap me", "ctx");
    const oldVersion = before.body.keyVersion;

    const rotated = await call<{ keyVersion: number; reencrypted: number; retiredVersions: number[] }>(server, "/api/vault/rotate", { method: "POST", token: vaultAdmin });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.keyVersion).toBe(oldVersion + 1);
    expect(rotated.body.reencrypted).toBeGreaterThanOrEqual(2);
    expect((await get("rotate/a")).body).toMatchObject({ value: "value-a" });
    expect((await get("rotate/b")).body).toMatchObject({ value: "value-b" });

    const rewrapped = await call<{ ciphertext: string; keyVersion: number }>(server, "/vault/rewrap", { method: "POST", token: writer, json: { ciphertext: before.body.ciphertext, associatedData: "ctx" } });
    expect(rewrapped.status, rewrapped.text).toBe(200);
    expect(rewrapped.body.keyVersion).toBe(rotated.body.keyVersion);
    expect(rewrapped.body.ciphertext.startsWith(`kai:v${rotated.body.keyVersion}:`)).toBe(true);
    expect(rewrapped.text).not.toContain("rewrap me");
    expect((await decrypt(rewrapped.body.ciphertext, "ctx")).body.plaintext).toBe("rewrap me");
    expect(codeOf(await call(server, "/vault/rewrap", { method: "POST", token: writer, json: { ciphertext: before.body.ciphertext, associatedData: "other" } }))).toBe("decryption_failed");
    const fresh = await encrypt("after rotation");
    expect(fresh.body.ciphertext.startsWith(`kai:v${rotated.body.keyVersion}:`)).toBe(true);
  });
});

describe("unlocking the development default after a lock", () => {
  it("unlocks from the key file with no body or an empty object; no passphrase is asked", async () => {
    await put("keyfile/kept", "kept-through-lock");
    for (const init of [{}, { json: {} }]) {
      expect((await call(server, "/api/vault/lock", { method: "POST", token: vaultAdmin })).status).toBe(200);
      expect(codeOf(await get("keyfile/kept"))).toBe("vault_locked");
      const unlocked = await call(server, "/api/vault/unlock", { method: "POST", token: vaultAdmin, ...init });
      expect(unlocked.status, unlocked.text).toBe(200);
      expect(VaultStatusSchema.parse(unlocked.body)).toMatchObject({ locked: false, autoUnlock: true });
      expect((await get("keyfile/kept")).body).toMatchObject({ value: "kept-through-lock" });
    }
    // Still vault:admin only.
    expect(codeOf(await call(server, "/api/vault/unlock", { method: "POST", token: reader, json: {} }))).toBe("forbidden");
  });
});

describe("rekey and the locked state", () => {
  it("re-keys to a passphrase with every secret still readable, then locks", async () => {
    await put("lock/kept", "survives-locking");
    const rekeyed = await call(server, "/api/vault/rekey", { method: "POST", token: vaultAdmin, json: { newPassphrase: PASSPHRASE } });
    expect(rekeyed.status, rekeyed.text).toBe(200);
    expect(VaultStatusSchema.parse(rekeyed.body)).toMatchObject({ autoUnlock: false, locked: false });
    expect(rekeyed.text).not.toContain(PASSPHRASE);
    expect((await get("lock/kept")).body).toMatchObject({ value: "survives-locking" });
    expect(codeOf(await call(server, "/api/vault/rekey", { method: "POST", token: vaultAdmin, json: { newPassphrase: "short" } }))).toBe("validation_failed");

    const locked = await call(server, "/api/vault/lock", { method: "POST", token: vaultAdmin });
    expect(locked.status).toBe(200);
    expect(VaultStatusSchema.parse(locked.body).locked).toBe(true);
    expect(VaultStatusSchema.parse((await call(server, "/api/vault/status", { token: reader })).body).locked).toBe(true);
  });

  it("answers 503 vault_locked on every route that needs a key", async () => {
    const sealed = "kai:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const attempts: [string, string, string, unknown][] = [
      ["PUT", "/api/vault/secrets/lock/new", writer, { value: "x" }],
      ["GET", "/api/vault/secrets/lock/kept", reader, undefined],
      ["POST", "/api/vault/rotate", vaultAdmin, undefined],
      ["POST", "/api/vault/rekey", vaultAdmin, { newPassphrase: "another passphrase here" }],
      ["POST", "/vault/encrypt", writer, { plaintext: "x" }],
      ["POST", "/vault/decrypt", reader, { ciphertext: sealed }],
      ["POST", "/vault/rewrap", writer, { ciphertext: sealed }],
    ];
    for (const [method, path, token, json] of attempts) {
      const answer = await call(server, path, { method, token, ...(json !== undefined ? { json } : {}) });
      expect(answer.status, `${method} ${path} → ${answer.text}`).toBe(503);
      expect(codeOf(answer)).toBe("vault_locked");
      expect(answer.headers.get("x-request-id")).toBeTruthy();
    }
    // A registration that carries a raw credential cannot be stored either: nothing is registered.
    const registration = await call(server, "/api/services/register", {
      method: "POST",
      token: servicesOnly,
      json: { id: "locked-svc", name: "Locked", auth: { type: "bearer_token", token: "sk-while-locked" } },
    });
    expect(registration.status).toBe(503);
    expect(codeOf(registration)).toBe("vault_locked");
    expect((await call(server, "/api/services/locked-svc", { token: servicesOnly })).status).toBe(404);
  });

  it("refuses a wrong passphrase with 403 invalid_passphrase and unlocks with the right one", async () => {
    const wrong = await call(server, "/api/vault/unlock", { method: "POST", token: vaultAdmin, json: { passphrase: "wrong passphrase guess" } });
    expect(wrong.status).toBe(403);
    expect(codeOf(wrong)).toBe("invalid_passphrase");
    expect(wrong.text).not.toContain("wrong passphrase guess");
    expect(VaultStatusSchema.parse((await call(server, "/api/vault/status", { token: reader })).body).locked).toBe(true);

    // A passphrase vault asked to unlock without one: 400, it stays locked.
    const without = await call(server, "/api/vault/unlock", { method: "POST", token: vaultAdmin, json: {} });
    expect(without.status).toBe(400);
    expect(codeOf(without)).toBe("validation_failed");
    const right = await call(server, "/api/vault/unlock", { method: "POST", token: vaultAdmin, json: { passphrase: PASSPHRASE } });
    expect(right.status, right.text).toBe(200);
    expect(VaultStatusSchema.parse(right.body).locked).toBe(false);
    expect((await get("lock/kept")).body).toMatchObject({ value: "survives-locking" });
  });
});

describe("audit", () => {
  it("lists entries (admin) with names only as HMACs, filters them, and verifies the chain", async () => {
    const all = await call(server, "/api/vault/audit?limit=1000");
    expect(all.status, all.text).toBe(200);
    const { entries } = AuditListResponseSchema.parse(all.body);
    expect(entries.length).toBeGreaterThan(20);
    expect(entries.some((entry) => entry.outcome === "denied")).toBe(true);
    expect(entries.some((entry) => entry.outcome === "allowed")).toBe(true);
    for (const entry of entries) if (entry.secret !== null) expect(entry.secret).toMatch(/^hmac-sha256:/);
    for (const clear of ["openai/prod", "anthropic/prod", "scoped/one", "sk-second-value", PASSPHRASE]) expect(all.text).not.toContain(clear);
    const seqs = entries.map((entry) => entry.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const denied = AuditListResponseSchema.parse((await call(server, "/api/vault/audit?outcome=denied&limit=1000")).body).entries;
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((entry) => entry.outcome === "denied")).toBe(true);
    const bob = AuditListResponseSchema.parse((await call(server, "/api/vault/audit?actor=bob&limit=1000")).body).entries;
    expect(bob.length).toBeGreaterThan(0);
    expect(bob.every((entry) => entry.actor === "bob")).toBe(true);
    const page = AuditListResponseSchema.parse((await call(server, `/api/vault/audit?afterSeq=${seqs[4]}&limit=3`)).body).entries;
    expect(page.map((entry) => entry.seq)).toEqual(seqs.slice(5, 8));
    expect(codeOf(await call(server, "/api/vault/audit?limit=0"))).toBe("validation_failed");
    expect(codeOf(await call(server, "/api/vault/audit?outcome=maybe"))).toBe("validation_failed");

    const verify = await call(server, "/api/vault/audit/verify");
    expect(verify.status).toBe(200);
    expect(AuditVerifyResponseSchema.parse(verify.body)).toMatchObject({ ok: true, brokenAt: null });
  });
});
