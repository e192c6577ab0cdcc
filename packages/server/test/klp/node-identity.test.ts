// The node's KLP identity is its node key: created on first start as <data-dir>/node-key.pem (0600), the
// same DID after a restart on the same data dir, a different one on another data dir, and the key that
// signs the node's access tokens.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { klp } from "@kai/protocol";
import { startTestServer } from "../helpers/test-server.js";
import { nodeDid } from "./support.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-klp-identity-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("node identity", () => {
  it("keeps node-key.pem at 0600 and the same DID across restarts", async () => {
    const first = await startTestServer({ keepDataDir: dataDir });
    const did = await nodeDid(first);
    expect(first.klp.did).toBe(did);
    await first.dispose();
    if (process.platform !== "win32") expect(statSync(join(dataDir, "node-key.pem")).mode & 0o777).toBe(0o600);
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
});
