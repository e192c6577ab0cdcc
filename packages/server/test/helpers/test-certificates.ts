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
  /** A key and a certificate signed by the CA: `name.key`, `name.pem`; `extensions` in openssl's extfile syntax. */
  issue(name: string, subject: string, extensions: string): void;
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
    issue(name, subject, extensions) {
      openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
      writeFileSync(file(`${name}.ext`), extensions);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    },
  };
}
