/**
 * @module config/configured-file
 * Reads the files the configuration names (a certificate, a key, a CA), failing with the setting and the file named:
 * "server.tls.keyFile /etc/kai/key.pem cannot be read (ENOENT)" says what to fix, where Node's own error would not
 * say which setting it came from. `readTlsFiles` also checks what a set of TLS files holds, for the node's own TLS
 * (`server.tls`) and its connections to peers (`federation.tls`) alike.
 */
import { readFileSync } from "node:fs";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
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

/** A TLS section's files (`certFile` and `keyFile` both or neither, as the schemas require). */
export interface TlsFileSettings {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  caFile?: string | undefined;
}

export interface TlsFiles {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/**
 * The files of the TLS section `section` (`server.tls`), read and checked so that a problem names its setting: a file
 * that cannot be read, one that holds no PEM certificate or key, or a key that is not the certificate's. Why here:
 * OpenSSL's own error ("PEM routines::no start line") names neither setting nor file, and OpenSSL keeps a certificate
 * and key per key type, so a key of another type would load beside the certificate and fail every handshake later.
 * Throws a `ConfigError`.
 */
export function readTlsFiles(section: string, settings: TlsFileSettings): TlsFiles {
  const refuse = (what: string, file: string, problem: string, error?: unknown) =>
    new ConfigError(`${section}.${what} ${file} ${problem}${error instanceof Error ? ` (${error.message.replace(/^error:[0-9A-F]+:/, "")})` : ""}`);
  const certificateIn = (what: string, file: string, bytes: Buffer): X509Certificate => {
    try {
      return new X509Certificate(bytes);
    } catch (error) {
      throw refuse(what, file, "holds no PEM certificate", error);
    }
  };
  const files: TlsFiles = {};
  if (settings.certFile !== undefined && settings.keyFile !== undefined) {
    files.cert = readConfiguredFile(settings.certFile, `${section}.certFile`);
    files.key = readConfiguredFile(settings.keyFile, `${section}.keyFile`);
    const certificate = certificateIn("certFile", settings.certFile, files.cert);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(files.key);
    } catch (error) {
      throw refuse("keyFile", settings.keyFile, "holds no PEM private key (or one protected by a passphrase)", error);
    }
    if (!certificate.checkPrivateKey(privateKey)) throw refuse("keyFile", settings.keyFile, `is not the private key of ${section}.certFile ${settings.certFile}`);
  }
  if (settings.caFile !== undefined) {
    files.ca = readConfiguredFile(settings.caFile, `${section}.caFile`);
    certificateIn("caFile", settings.caFile, files.ca);
  }
  return files;
}
