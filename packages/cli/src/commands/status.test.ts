// `kai status`'s TLS rows from the node's `node.tls`: each certificate with how long it has left (in days, in hours
// under two days, EXPIRED after), a CA-only node, a plain-HTTP node, and a change that did not load.
import { describe, expect, it } from "vitest";
import { describeExpiry, tlsRows } from "./status.js";

const NOW = Date.parse("2026-12-07T12:00:00.000Z");
const HOUR = 3_600_000;

describe("kai status's TLS rows", () => {
  it("says how long a certificate has left, and when it expired", () => {
    expect(describeExpiry("2027-03-01T12:00:00.000Z", NOW)).toBe("expires 2027-03-01T12:00:00.000Z (in 84 days)");
    expect(describeExpiry(new Date(NOW + 47 * HOUR + 5).toISOString(), NOW)).toMatch(/\(in 47 hour\(s\)\)$/);
    expect(describeExpiry(new Date(NOW - 3 * 24 * HOUR).toISOString(), NOW)).toMatch(/^EXPIRED \S+ \(3 days ago\)$/);
  });

  it("a row per certificate, one for a change that did not load, and words for a node without certificates", () => {
    expect(tlsRows(undefined)).toEqual([["tls", "off (plain HTTP; a proxy in front may terminate TLS)"]]);
    expect(tlsRows({ certificates: [], notReloaded: [] })).toEqual([["tls", "no certificate of its own (only a CA that peers' certificates are checked against)"]]);
    const rows = tlsRows({
      certificates: [{ setting: "federation.tls.certFile", subject: "CN=peer", issuer: "CN=CA", notAfter: "2999-01-01T00:00:00.000Z" }],
      notReloaded: ["federation.tls"],
    });
    expect(rows[0]![0]).toBe("tls");
    expect(rows[0]![1]).toMatch(/^federation\.tls\.certFile: CN=peer, issued by CN=CA, expires 2999-01-01T00:00:00\.000Z \(in \d+ days\)$/);
    expect(rows[1]).toEqual(["tls reload", expect.stringMatching(/^FAILED for federation\.tls: the files changed but do not load/)]);
  });
});
