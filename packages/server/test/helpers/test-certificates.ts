/**
 * @module test/helpers/test-certificates
 * A test CA and certificates it signs, made in a folder by the openssl program (a Debian package on every machine the
 * tests run on; without it the TLS tests skip, or fail under CI=true, through `missingPart`). Files: `ca.pem`/`ca.key`,
 * and `<name>.pem`/`<name>.key` for each certificate issued.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { missingPart } from "./real-parts.js";

/** True when openssl can run here (else the reason is reported as a missing part). */
export const HAS_OPENSSL =
  spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0 || Boolean(missingPart("the openssl program (test certificates)", "apt-get install openssl"));

export interface TestCa {
  /** A path in the CA's folder. */
  file(name: string): string;
  /**
   * A key and a certificate signed by the CA: `name.key`, `name.pem`; `extensions` in openssl's extfile syntax. Valid
   * for two days from now, or over `validity` (a period already over, or still to come: `openssl ca`, as the x509
   * command of OpenSSL 3.0 cannot set a start).
   */
  issue(name: string, subject: string, extensions: string, validity?: { from: Date; to: Date }): void;
  /** openssl with these arguments, in the CA's folder. */
  openssl(...args: string[]): void;
}

/** Makes a CA (`ca.pem`, `ca.key`, "kai test CA", two days) in `dir`. */
export function makeTestCa(dir: string): TestCa {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kai test CA");
  return {
    file,
    openssl,
    issue(name, subject, extensions, validity) {
      openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
      writeFileSync(file(`${name}.ext`), extensions);
      if (!validity) {
        openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
        return;
      }
      // `openssl ca` keeps a database of what it issued: a fresh one per certificate, as the test issues few.
      writeFileSync(file(`${name}.index`), "");
      writeFileSync(file(`${name}.serial`), `${Date.now().toString(16).padStart(16, "0")}\n`);
      writeFileSync(
        file(`${name}.cnf`),
        `[ca]\ndefault_ca = test\n[test]\ndatabase = ${name}.index\nnew_certs_dir = .\nserial = ${name}.serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n`,
      );
      // openssl's time format: YYYYMMDDHHMMSSZ.
      const stamp = (date: Date) => `${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
      openssl("ca", "-batch", "-config", `${name}.cnf`, "-cert", "ca.pem", "-keyfile", "ca.key", "-in", `${name}.csr`, "-out", `${name}.pem`, "-notext", "-startdate", stamp(validity.from), "-enddate", stamp(validity.to), "-extfile", `${name}.ext`);
    },
  };
}
