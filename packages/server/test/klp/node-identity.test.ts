// The node key (tokens and KLP identity): sealed in the vault, never a plain private key in the data dir
// once the vault was unlocked; only its public half is a file. The same DID after a restart, another one
// on another data dir. A node whose vault is locked still verifies tokens (so it can be unlocked) but mints
// none and speaks no KLP until it is unlocked, with the same DID. A key file left by an earlier version is
// moved into the vault. No token can read, list or overwrite the sealed key.
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { klp } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeDid } from "./support.js";

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "kai-klp-identity-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every file under the data dir, as bytes (the database included). */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path));
}

const PASSPHRASE = "a long enough passphrase for the node key test";

describe("node identity", () => {
  it("is sealed in the vault: no private key file, the same DID across restarts, another DID elsewhere", async () => {
    const dataDir = freshDir();
    const first = await startTestServer({ keepDataDir: dataDir });
    const did = await nodeDid(first);
    expect(first.klp.did).toBe(did);
    const seed = first.nodeKey.privateKey.export({ format: "jwk" }).d!;
    const pem = first.nodeKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await first.dispose();
    expect(existsSync(join(dataDir, "node-key.pem"))).toBe(false);
    expect(existsSync(join(dataDir, "node-key.pub.pem"))).toBe(true);
    // Neither the PEM nor the raw seed is anywhere in the data dir in the clear (the database included).
    const seedBytes = Buffer.from(seed, "base64url");
    for (const bytes of filesUnder(dataDir)) {
      expect(bytes.includes(seedBytes)).toBe(false);
      expect(bytes.includes(Buffer.from(pem.split("\n")[1]!))).toBe(false);
    }
    const second = await startTestServer({ keepDataDir: dataDir });
    expect(await nodeDid(second)).toBe(did);
    await second.dispose();
    const other = await startTestServer();
    expect(await nodeDid(other)).not.toBe(did);
    await other.dispose();
  });

  it("is the key that signs the node's access tokens", async () => {
    const server = await startTestServer();
    try {
      const did = await nodeDid(server);
      const x = klp.toBase64Url(klp.publicKeyFromDid(did)!);
      const key = await importJWK({ kty: "OKP", crv: "Ed25519", x }, "EdDSA");
      expect(decodeProtectedHeader(server.adminToken).alg).toBe("EdDSA");
      await expect(jwtVerify(server.adminToken, key)).resolves.toBeTruthy();
    } finally {
      await server.dispose();
    }
  });

  it("with a locked vault: tokens still verify, nothing is signed, and unlocking brings the same DID back", async () => {
    const dataDir = freshDir();
    let server: TestServer = await startTestServer({ keepDataDir: dataDir, env: { KAI_VAULT_PASSPHRASE: PASSPHRASE } });
    const did = await nodeDid(server);
    await server.dispose();
    // Restarted without the passphrase: the vault stays locked, and so does the node key.
    server = await startTestServer({ keepDataDir: dataDir });
    try {
      expect((await server.request("/api/status")).status).toBe(200);
      const document = await fetch(`${server.url}/.well-known/klp.json`);
      expect(document.status).toBe(503);
      expect(((await document.json()) as { error: { code: string } }).error.code).toBe("vault_locked");
      const mint = await server.request("/api/tokens", { method: "POST", json: { scopes: ["services:read"], owner: "x", ttl: "1h" } });
      expect(mint.status).toBe(503);
      const unlock = await server.request("/api/vault/unlock", { method: "POST", json: { passphrase: PASSPHRASE } });
      expect(unlock.status).toBe(200);
      await expect.poll(async () => (await fetch(`${server.url}/.well-known/klp.json`)).status).toBe(200);
      expect(await nodeDid(server)).toBe(did);
      expect((await server.request("/api/tokens", { method: "POST", json: { scopes: ["services:read"], owner: "x", ttl: "1h" } })).status).toBe(201);
      // Locking seals it again.
      expect((await server.request("/api/vault/lock", { method: "POST" })).status).toBe(200);
      expect((await fetch(`${server.url}/.well-known/klp.json`)).status).toBe(503);
    } finally {
      await server.dispose();
    }
  });

  it("moves a key file left by an earlier version into the vault, keeping its DID", async () => {
    const dataDir = freshDir();
    const legacy = generateKeyPairSync("ed25519").privateKey;
    writeFileSync(join(dataDir, "node-key.pem"), legacy.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const expected = klp.keyPairFromSeed(Buffer.from(legacy.export({ format: "jwk" }).d!, "base64url")).did;
    const server = await startTestServer({ keepDataDir: dataDir });
    try {
      expect(await nodeDid(server)).toBe(expected);
      expect(existsSync(join(dataDir, "node-key.pem"))).toBe(false);
    } finally {
      await server.dispose();
    }
  });

  it("cannot be listed, read or overwritten through the vault API, whatever the token", async () => {
    const server = await startTestServer();
    try {
      const list = (await (await server.request("/api/vault/secrets")).json()) as { secrets: { name: string }[] };
      expect(list.secrets.map((secret) => secret.name)).not.toContain("#system/node-key");
      for (const path of ["/api/vault/secrets/%23system/node-key", "/api/vault/secrets/#system/node-key"]) {
        expect([400, 404]).toContain((await server.request(path)).status);
        expect([400, 404]).toContain((await server.request(path, { method: "PUT", json: { value: "mine now" } })).status);
      }
      expect(await nodeDid(server)).toBe(server.klp.did);
    } finally {
      await server.dispose();
    }
  });
});
