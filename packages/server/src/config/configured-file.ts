/**
 * @module config/configured-file
 * Reads a file the configuration names (a certificate, a key, a CA), failing with the setting and the file named:
 * "server.tls.keyFile /etc/kai/key.pem cannot be read (ENOENT)" says what to fix, where Node's own error would not
 * say which setting it came from.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "./layers/config-error.js";

/**
 * The file's bytes; throws naming `setting` (e.g. `server.tls.certFile`) and the file when it cannot be read. A
 * `ConfigError`: at start it is the operator's to fix (`kai serve` exits 2 with it, as for a bad setting), not a fault.
 */
export function readConfiguredFile(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${setting} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
