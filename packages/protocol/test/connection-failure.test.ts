// OpenSSL's text as the node, the SDK and the CLI show it (connection-failure.ts): its thread id, error number and
// this build's source path go, the words stay, and text after the path keeps its separator.
import { describe, expect, it } from "vitest";
import { UNTRUSTED_CERTIFICATE_CODES, withoutOpensslInternals } from "@kai/protocol";

describe("OpenSSL's text without its internals", () => {
  it("drops the thread id, the error number and the source path; keeps what follows the path apart", () => {
    expect(withoutOpensslInternals("80FCCC097D7F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 40")).toBe(
      "SSL routines:ssl3_read_bytes:sslv3 alert handshake failure: SSL alert number 40",
    );
    expect(withoutOpensslInternals("C0BC6D36B27F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n")).toBe(
      "SSL routines:ssl3_get_record:wrong version number",
    );
    // Node's own text has none of it, and stays as it is.
    expect(withoutOpensslInternals("unable to verify the first certificate")).toBe("unable to verify the first certificate");
  });

  it("one list of codes for a certificate no trusted CA signs", () => {
    expect(UNTRUSTED_CERTIFICATE_CODES.has("CERT_SIGNATURE_FAILURE")).toBe(true);
    expect(UNTRUSTED_CERTIFICATE_CODES.has("SELF_SIGNED_CERT_IN_CHAIN")).toBe(true);
    expect(UNTRUSTED_CERTIFICATE_CODES.has("CERT_HAS_EXPIRED")).toBe(false);
  });
});
