// What the node reports of the certificates it presents (http/tls-certificates.ts): a chain file's end of validity is
// the earliest among its certificates, whichever comes first in the file; the subject and issuer as one line; a
// section's failed change is reported until a later one loads, by each reader of its files. Certificates made by the
// openssl program.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificatesIn, certificateStatus, TlsCertificates } from "../../src/http/tls-certificates.js";
import { HAS_OPENSSL, makeTestCa, type TestCa } from "../helpers/test-certificates.js";

const dir = mkdtempSync(join(tmpdir(), "kai-tls-certificates-"));
let testCa: TestCa;
const iso = (pem: Buffer) => new Date(Date.parse(new X509Certificate(pem).validTo)).toISOString();

beforeAll(() => {
  if (!HAS_OPENSSL) return;
  testCa = makeTestCa(dir);
  // A leaf valid for 30 days under the two-day test CA: the chain file [leaf, CA] ends with the CA, its second entry.
  testCa.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "long.key", "-out", "long.csr", "-subj", "/CN=long.example/O=kAI tests");
  testCa.openssl("x509", "-req", "-in", "long.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "long.pem", "-days", "30");
  writeFileSync(join(dir, "chain.pem"), Buffer.concat([readFileSync(join(dir, "long.pem")), readFileSync(join(dir, "ca.pem"))]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!HAS_OPENSSL)("the certificates a node presents", () => {
  it("a chain ends when its first certificate to expire does, wherever it is in the file", () => {
    const chain = readFileSync(join(dir, "chain.pem"));
    expect(certificatesIn(chain)).toHaveLength(2);
    const leafEnd = iso(readFileSync(join(dir, "long.pem")));
    const caEnd = iso(readFileSync(join(dir, "ca.pem")));
    expect(Date.parse(caEnd)).toBeLessThan(Date.parse(leafEnd));
    expect(certificateStatus("server.tls.certFile", chain)).toEqual({
      setting: "server.tls.certFile",
      subject: "CN=long.example, O=kAI tests",
      issuer: "CN=kai test CA",
      notAfter: caEnd,
    });
    // The leaf alone ends 30 days out.
    expect(certificateStatus("server.tls.certFile", readFileSync(join(dir, "long.pem")))?.notAfter).toBe(leafEnd);
    expect(certificateStatus("server.tls.certFile", "no certificate here")).toBeUndefined();
  });

  it("reports a section's failed change until a later one loads, and nothing for a node without TLS files", () => {
    const certificates = new TlsCertificates();
    expect(certificates.status()).toBeUndefined();
    expect(certificates.sections()).toEqual([]);
    certificates.loaded("server.tls", readFileSync(join(dir, "long.pem")));
    // A peer side with a CA only: the section is in use, no certificate is presented.
    certificates.loaded("federation.tls", undefined);
    expect(certificates.sections()).toEqual(["federation.tls", "server.tls"]);
    expect(certificates.status()?.certificates.map((certificate) => certificate.setting)).toEqual(["server.tls.certFile"]);
    certificates.notReloaded("server.tls");
    expect(certificates.status()?.notReloaded).toEqual(["server.tls"]);
    expect(certificates.lastReloadSucceeded("server.tls")).toBe(false);
    expect(certificates.lastReloadSucceeded("federation.tls")).toBe(true);
    // The last good certificate is still the one reported.
    expect(certificates.status()?.certificates[0]?.subject).toBe("CN=long.example, O=kAI tests");
    certificates.loaded("server.tls", readFileSync(join(dir, "chain.pem")));
    expect(certificates.status()?.notReloaded).toEqual([]);
    expect(certificates.status()?.certificates[0]?.notAfter).toBe(iso(readFileSync(join(dir, "ca.pem"))));
  });

  it("a section read by two (the HTTPS server, and peers given its CA) is failing while either's last reload failed", () => {
    const certificates = new TlsCertificates();
    certificates.loaded("server.tls", readFileSync(join(dir, "long.pem")));
    certificates.loaded("server.tls", undefined, "peers' CA");
    // The server's pair did not load; the peers' side, reading only the CA of the same section, did.
    certificates.notReloaded("server.tls");
    certificates.loaded("server.tls", undefined, "peers' CA");
    expect(certificates.status()?.notReloaded).toEqual(["server.tls"]);
    // A reader of a CA alone leaves the certificate reported as it is.
    expect(certificates.status()?.certificates.map((certificate) => certificate.subject)).toEqual(["CN=long.example, O=kAI tests"]);
    certificates.notReloaded("server.tls", "peers' CA");
    certificates.loaded("server.tls", readFileSync(join(dir, "long.pem")));
    expect(certificates.lastReloadSucceeded("server.tls")).toBe(false);
    certificates.loaded("server.tls", undefined, "peers' CA");
    expect(certificates.lastReloadSucceeded("server.tls")).toBe(true);
  });
});
