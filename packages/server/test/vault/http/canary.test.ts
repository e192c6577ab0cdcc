/**
 * The canary: one random value planted through every vault API — as a secret value (put, and a refused
 * put), as transit plaintext and associated data, as a service registration's raw token, and as the
 * vault's passphrase (rekey, a wrong unlock, a right unlock). A second one is a secret's name, which no log line may
 * carry (the audit keeps names as HMACs): the request lines show `/api/vault/secrets/[redacted]`, also for a path with a
 * doubled slash, which matches no route. Afterwards the
 * first must be absent from every log line (captured and the files under logs/: system, security, agents), every audit row, every error body and every response — except the
 * two answers whose job is to return it: `GET /api/vault/secrets/{name}` and `POST /vault/decrypt`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditListResponseSchema } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FAST_VAULT, call, codeOf, filesUnder, mintVaultToken, type Answer } from "./support.js";

const CANARY = `kai-canary-${randomBytes(10).toString("hex")}`;
/** A secret's name: the audit keeps names only as HMACs, so no log line may carry one either (request lines included). */
const NAME_CANARY = `name-canary-${randomBytes(8).toString("hex")}`;
const dataDir = mkdtempSync(join(tmpdir(), "kai-vault-canary-"));
let server: TestServer;
let disposed = false;
/** Answers that may carry the canary (they exist to return it). */
const intended: Answer[] = [];
/** Every other answer. */
const others: Answer[] = [];

async function send(path: string, init: Parameters<typeof call>[2] = {}, returnsCanary = false): Promise<Answer> {
  const answer = await call(server, path, init);
  (returnsCanary ? intended : others).push(answer);
  return answer;
}

beforeAll(async () => {
  server = await startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false }, vault: FAST_VAULT } });
});
afterAll(async () => {
  if (!disposed) await server?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("canary", () => {
  it("plants the canary through every vault API; only getSecret and decrypt give it back", async () => {
    const writer = await mintVaultToken(server, ["vault:read", "vault:write", "services:write", "services:read"], "canary-owner", ["canary/**", "services/**"]);
    const reader = await mintVaultToken(server, ["vault:read"], "reader");
    const vaultAdmin = await mintVaultToken(server, ["vault:admin"], "ops");

    // Secrets: stored, refused (pattern and scope), read back.
    expect((await send("/api/vault/secrets/canary/value", { method: "PUT", token: writer, json: { value: CANARY } })).status).toBe(200);
    expect(codeOf(await send("/api/vault/secrets/outside/value", { method: "PUT", token: writer, json: { value: CANARY } }))).toBe("forbidden");
    expect(codeOf(await send("/api/vault/secrets/canary/value", { method: "PUT", token: reader, json: { value: CANARY } }))).toBe("forbidden");
    expect(codeOf(await send("/api/vault/secrets/canary/value", { method: "PUT", token: writer, json: { value: CANARY, junk: CANARY } }))).toBe("validation_failed");
    expect((await send("/api/vault/secrets/canary/value", { token: writer }, true)).body).toMatchObject({ value: CANARY });
    await send("/api/vault/secrets", { token: writer });
    // A secret whose name is the name canary: stored, read, a method the vault does not serve, deleted.
    expect((await send(`/api/vault/secrets/canary/${NAME_CANARY}`, { method: "PUT", token: writer, json: { value: "a value" } })).status).toBe(200);
    expect((await send(`/api/vault/secrets/canary/${NAME_CANARY}`, { token: writer })).status).toBe(200);
    expect((await send(`/api/vault/secrets/canary/${NAME_CANARY}`, { method: "POST", token: writer, json: {} })).status).toBe(404);
    expect((await send(`/api/vault/secrets/canary/${NAME_CANARY}`, { method: "DELETE", token: writer })).status).toBe(204);
    // Through a base URL ending in `/`: the router keeps the doubled slash, no route matches, the 404 names no secret.
    const doubled = await send(`//api/vault/secrets/canary/${NAME_CANARY}`, { token: writer });
    expect(doubled.status).toBe(404);
    expect(doubled.text).not.toContain(NAME_CANARY);

    // Transit: as plaintext and as associated data; forged and mismatched decrypts.
    const sealed = await send("/vault/encrypt", { method: "POST", token: writer, json: { plaintext: CANARY, associatedData: CANARY } });
    expect(sealed.status).toBe(200);
    const ciphertext = (sealed.body as { ciphertext: string }).ciphertext;
    expect((await send("/vault/decrypt", { method: "POST", token: writer, json: { ciphertext, associatedData: CANARY } }, true)).body).toMatchObject({ plaintext: CANARY });
    expect(codeOf(await send("/vault/decrypt", { method: "POST", token: writer, json: { ciphertext, associatedData: "other" } }))).toBe("decryption_failed");
    expect(codeOf(await send("/vault/decrypt", { method: "POST", token: writer, json: { ciphertext: `${ciphertext.slice(0, -4)}AAAA`, associatedData: CANARY } }))).toBe("decryption_failed");
    expect(codeOf(await send("/vault/decrypt", { method: "POST", token: writer, json: { ciphertext: CANARY } }))).toBe("validation_failed");
    expect(codeOf(await send("/vault/encrypt", { method: "POST", token: reader, json: { plaintext: CANARY } }))).toBe("forbidden");
    expect((await send("/vault/rewrap", { method: "POST", token: writer, json: { ciphertext, associatedData: CANARY } })).status).toBe(200);

    // A registration's raw token.
    expect((await send("/api/services/register", { method: "POST", token: writer, json: registration({ id: "canary-svc", auth: { type: "bearer_token", token: CANARY } }) })).status).toBe(201);
    expect((await send("/api/services/register", { method: "POST", token: writer, json: registration({ id: "canary-bad", auth: { type: "bearer_token", apiKey: CANARY } }) })).status).toBe(400);
    await send("/api/services/canary-svc", { token: writer });
    await send("/api/services?limit=100", { token: writer });

    // The passphrase: rekey to the canary, lock, a wrong unlock, a refused unlock, the right unlock.
    expect((await send("/api/vault/rekey", { method: "POST", token: vaultAdmin, json: { newPassphrase: CANARY } })).status).toBe(200);
    expect((await send("/api/vault/lock", { method: "POST", token: vaultAdmin })).status).toBe(200);
    expect(codeOf(await send("/api/vault/unlock", { method: "POST", token: vaultAdmin, json: { passphrase: `${CANARY}-wrong` } }))).toBe("invalid_passphrase");
    expect(codeOf(await send("/api/vault/unlock", { method: "POST", token: reader, json: { passphrase: CANARY } }))).toBe("forbidden");
    expect(codeOf(await send("/api/vault/secrets/canary/value", { method: "PUT", token: writer, json: { value: CANARY } }))).toBe("vault_locked");
    expect(codeOf(await send("/vault/encrypt", { method: "POST", token: writer, json: { plaintext: CANARY } }))).toBe("vault_locked");
    expect((await send("/api/vault/unlock", { method: "POST", token: vaultAdmin, json: { passphrase: CANARY } })).status).toBe(200);
    expect((await send("/api/vault/rotate", { method: "POST", token: vaultAdmin })).status).toBe(200);
    expect((await send("/api/vault/secrets/canary/value", { token: writer }, true)).body).toMatchObject({ value: CANARY });
    await send("/api/vault/status", { token: reader });

    // The audit log, read in full.
    const audit = await send("/api/vault/audit?limit=1000");
    expect(audit.status).toBe(200);
    const { entries } = AuditListResponseSchema.parse(audit.body);
    expect(entries.length).toBeGreaterThan(15);
    for (const entry of entries) expect(JSON.stringify(entry)).not.toContain(CANARY);
    expect((await send("/api/vault/audit/verify")).body).toMatchObject({ ok: true });

    expect(intended).toHaveLength(3);
    for (const answer of intended) expect(answer.text).toContain(CANARY);
    expect(others.length).toBeGreaterThan(25);
    for (const answer of others) {
      expect(answer.text, `status ${answer.status}`).not.toContain(CANARY);
      for (const [name, value] of answer.headers) expect(value, name).not.toContain(CANARY);
    }
  });

  it("leaves the canary in no log line and no file of the data directory", async () => {
    await server.dispose();
    disposed = true;
    expect(server.logs.length).toBeGreaterThan(20);
    for (const line of server.logs) expect(line).not.toContain(CANARY);
    for (const line of server.logs) expect(line).not.toContain(NAME_CANARY);
    // The named secret's five requests were logged, the name masked and the route pattern kept (none for the two 404s).
    const named = server.logs.map((line) => JSON.parse(line) as { msg: string; method?: string; route?: string | null; path?: string }).filter((line) => line.msg === "request" && line.path === "/api/vault/secrets/[redacted]");
    expect(named.map((line) => `${line.method} ${line.route}`)).toEqual(expect.arrayContaining(["PUT /api/vault/secrets/*", "GET /api/vault/secrets/*", "POST null", "DELETE /api/vault/secrets/*"]));
    expect(named.filter((line) => line.route === null).map((line) => line.method).sort()).toEqual(["GET", "POST"]);
    const files = filesUnder(dataDir);
    expect(files.some((file) => /logs\/system\/system-[\d-]+\.log$/.test(file.path))).toBe(true);
    // The security log got the vault's accesses (the canary went through put, transit and unlock), without it.
    expect(files.some((file) => /logs\/security\/security-[\d-]+\.log$/.test(file.path) && file.text.includes('"event":"vault.access"'))).toBe(true);
    for (const file of files) expect(file.text.includes(CANARY), file.path).toBe(false);
    // The database holds the name (it is the secret's key); no log file does.
    for (const file of files.filter((each) => each.path.includes("/logs/"))) expect(file.text.includes(NAME_CANARY), file.path).toBe(false);
  });
});
