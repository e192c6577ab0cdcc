/**
 * The URL `kai serve`'s banner names for a node bound to every interface (`0.0.0.0`, `::`): an address a client on
 * this machine connects to, on TLS one the certificate covers (so that the name check passes): its loopback address or
 * `localhost`, then an address of this machine it lists, then its first DNS name that is not a wildcard. A node bound
 * to one address keeps it. (serve.test.ts runs `kai serve` itself and the try: command it prints.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_OPENSSL, makeTestCa, type TestCa } from "../../server/test/helpers/test-certificates.js";
import { clientEndpoint } from "../src/serve-banner.js";

let dir: string;
let ca: TestCa;

/**
 * A certificate of the test CA made for these subjectAltName entries (openssl's syntax); its file. Its common name is
 * no host name (a client falls back to it when no DNS name is listed).
 */
function certificateFor(name: string, altNames: string): string {
  ca.issue(name, `/CN=kai ${name} node`, `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth\n`);
  return ca.file(`${name}.pem`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kai-serve-banner-"));
  if (HAS_OPENSSL) ca = makeTestCa(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the banner's URL for a node bound to every interface", () => {
  it("plain HTTP: 127.0.0.1 for 0.0.0.0 and for :: (whose socket takes IPv4 too); one bound address is kept", () => {
    expect(clientEndpoint("http://0.0.0.0:7070")).toEqual({ url: "http://127.0.0.1:7070", bound: "0.0.0.0" });
    expect(clientEndpoint("http://[::]:7070")).toEqual({ url: "http://127.0.0.1:7070", bound: "::" });
    expect(clientEndpoint("http://127.0.0.1:7070")).toEqual({ url: "http://127.0.0.1:7070" });
    expect(clientEndpoint("http://10.0.0.2:7070")).toEqual({ url: "http://10.0.0.2:7070" });
    expect(clientEndpoint("https://[::1]:7070")).toEqual({ url: "https://[::1]:7070" });
  });

  it.skipIf(!HAS_OPENSSL)("TLS: a host the certificate lists, loopback first", () => {
    const both = certificateFor("both", "DNS:kai.example,DNS:localhost,IP:127.0.0.1");
    expect(clientEndpoint("https://0.0.0.0:7304", both, [])).toEqual({ url: "https://127.0.0.1:7304", bound: "0.0.0.0" });
    const named = certificateFor("named", "DNS:kai.example,DNS:localhost");
    expect(clientEndpoint("https://0.0.0.0:7304", named, []).url).toBe("https://localhost:7304");
    // ::1 only where the node listens on it (::, not 0.0.0.0).
    const v6 = certificateFor("v6", "IP:::1");
    expect(clientEndpoint("https://[::]:7304", v6, []).url).toBe("https://[::1]:7304");
    expect(clientEndpoint("https://0.0.0.0:7304", v6, []).url).toBe("https://127.0.0.1:7304");
  });

  it.skipIf(!HAS_OPENSSL)("TLS without a loopback name: an address of this machine it lists, else its first DNS name that is not a wildcard", () => {
    const lan = certificateFor("lan", "DNS:kai.example,IP:10.1.2.3");
    expect(clientEndpoint("https://0.0.0.0:7304", lan, ["10.1.2.3"]).url).toBe("https://10.1.2.3:7304");
    expect(clientEndpoint("https://0.0.0.0:7304", lan, []).url).toBe("https://kai.example:7304");
    const wildcard = certificateFor("wildcard", "DNS:*.kai.example,DNS:node.kai.example");
    expect(clientEndpoint("https://0.0.0.0:7304", wildcard, []).url).toBe("https://node.kai.example:7304");
    // A certificate that lists nothing a client here could use: loopback (the CLI's error then names the mismatch).
    const elsewhere = certificateFor("elsewhere", "IP:10.9.9.9");
    expect(clientEndpoint("https://0.0.0.0:7304", elsewhere, []).url).toBe("https://127.0.0.1:7304");
    // No DNS name listed: its common name is the name a client checks, as Node does.
    ca.issue("common", "/CN=kai-node.example", "extendedKeyUsage=serverAuth\n");
    expect(clientEndpoint("https://0.0.0.0:7304", ca.file("common.pem"), []).url).toBe("https://kai-node.example:7304");
  });
});
