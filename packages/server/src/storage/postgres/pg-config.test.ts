/** The PostgreSQL settings as connections get them, and a description that never shows who connects or with what. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { clientConfigOf, describeConfig } from "./pg-config.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("PostgreSQL settings", () => {
  it("describes host, port, database and pool, never the user or the password", () => {
    expect(describeConfig({ kind: "postgres", url: "postgres://kai:pw@db.internal:6543/kai", poolSize: 7 })).toBe("postgres (db.internal:6543/kai, pool 7)");
    expect(describeConfig({ kind: "postgres", url: "postgresql://u:p%40ss@[::1]/nodes" })).toBe("postgres ([::1]:5432/nodes, pool 10)");
    expect(describeConfig({ kind: "postgres", url: "host=db user=kai password=secret" })).toBe("postgres (configured URL, pool 10)");
  });

  it("puts timeouts on every connection and maps the TLS modes", () => {
    const plain = clientConfigOf({ kind: "postgres", url: "postgres://db/kai", statementTimeoutMs: 2000, connectTimeoutMs: 700 });
    expect(plain).toMatchObject({ ssl: false, statement_timeout: 2000, idle_in_transaction_session_timeout: 2000, connectionTimeoutMillis: 700 });
    expect(clientConfigOf({ kind: "postgres", url: "postgres://db/kai", statementTimeoutMs: 0 })).not.toHaveProperty("statement_timeout");
    expect(clientConfigOf({ kind: "postgres", url: "postgres://db/kai", tls: { mode: "require" } }).ssl).toEqual({ rejectUnauthorized: false });

    const dir = mkdtempSync(join(tmpdir(), "kai-pg-tls-"));
    dirs.push(dir);
    writeFileSync(join(dir, "ca.pem"), "CA");
    writeFileSync(join(dir, "cert.pem"), "CERT");
    writeFileSync(join(dir, "key.pem"), "KEY");
    const verified = clientConfigOf({
      kind: "postgres",
      url: "postgres://db/kai",
      tls: { mode: "verify-full", caFile: join(dir, "ca.pem"), certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") },
    });
    expect(verified.ssl).toEqual({ ca: "CA", cert: "CERT", key: "KEY", rejectUnauthorized: true });
  });
});
