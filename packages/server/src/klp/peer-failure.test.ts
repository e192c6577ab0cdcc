// How a failed connection to a peer is worded (klp/peer-failure.ts): OpenSSL's own error from a real TLS handshake
// with a plain HTTP server loses its error number and source path, and names the fix; a peer's refusal body gives
// its message, cut to a sentence, and nothing when it is not the node's error shape.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutOpensslInternals } from "@kai/protocol";
import { describePeerFailure, PeerRefusedError, refusalReason } from "./peer-failure.js";

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((_request, response) => response.end("plain"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** What Node throws for a TLS handshake with the plain HTTP server. */
function handshakeError(): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("error", (error) => {
      socket.destroy();
      resolve(error);
    });
  });
}

describe("a failed connection to a peer, in words", () => {
  it("plain HTTP on an https:// URL: the fix, with OpenSSL's code and without its internals", async () => {
    const error = await handshakeError();
    expect(error.code).toBe("ERR_SSL_WRONG_VERSION_NUMBER");
    // fetch's TypeError("fetch failed") carries it as its cause.
    const fetchFailed = new TypeError("fetch failed", { cause: error });
    expect(describePeerFailure(fetchFailed, `https://127.0.0.1:${port}`)).toBe(
      "the peer does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to serve plain HTTP; add it by its http:// URL",
    );
    expect(withoutOpensslInternals(error.message)).not.toMatch(/deps\/openssl|error:[0-9A-F]{8}:|^[0-9A-F]{8,16}:/);
    expect(withoutOpensslInternals(error.message)).toContain("wrong version number");
  });

  it("a peer's refusal: its message, cut to a sentence; nothing from a body that is not an error", () => {
    expect(refusalReason(JSON.stringify({ error: { code: "unauthorized", message: "KLP on this node needs a client certificate" } }))).toBe("KLP on this node needs a client certificate");
    expect(refusalReason(JSON.stringify({ error: { code: "unauthorized", message: `a\n${"x".repeat(400)}` } }))).toBe(`a ${"x".repeat(298)}…`);
    expect(refusalReason("<html>Unauthorized</html>")).toBeUndefined();
    expect(describePeerFailure(new PeerRefusedError(401, undefined))).toBe("the peer refused the KLP connection (HTTP 401)");
  });

  it("a CA this node lacks: the setting, and that it replaces server.tls.caFile for peers", () => {
    const untrusted = Object.assign(new Error("self-signed certificate in certificate chain"), { code: "SELF_SIGNED_CERT_IN_CHAIN" });
    expect(describePeerFailure(new TypeError("fetch failed", { cause: untrusted }), "https://peer.example:7070")).toBe(
      "the peer's certificate is not signed by a CA this node trusts (SELF_SIGNED_CERT_IN_CHAIN): add the CA that signs it to federation.tls.caFile, which replaces server.tls.caFile for peers (keep both CAs in that file)",
    );
  });

  it("OpenSSL's text after its source path keeps its separator, without the thread id", () => {
    const alert = Object.assign(
      new Error("80FCCC097D7F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 40"),
      { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" },
    );
    expect(describePeerFailure(new TypeError("fetch failed", { cause: alert }), "https://peer.example:7070")).toBe(
      "SSL routines:ssl3_read_bytes:sslv3 alert handshake failure: SSL alert number 40 (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE)",
    );
  });
});
