/**
 * @module config/configured-file
 * Reads the files the configuration names (a certificate, a key, a CA), failing with the setting and the file named:
 * "server.tls.keyFile /etc/kai/key.pem cannot be read (ENOENT)" says what to fix, where Node's own error would not
 * say which setting it came from. `readTlsFiles` also checks what a set of TLS files holds, for the node's own TLS
 * (`server.tls`) and its connections to peers (`federation.tls`) alike, at start and at every reload.
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
 * A certificate file whose certificate is not valid yet (its `notBefore` is ahead of this machine's clock): refused as
 * any other file that does not load, and `validFrom` (ms since the epoch) says when a reload would take it, so that a
 * reloader can try again then instead of keeping the old certificate until the files change once more.
 */
export class CertificateNotYetValidError extends ConfigError {
  constructor(
    message: string,
    readonly validFrom: number,
  ) {
    super(message);
  }
}

const isoOf = (ms: number) => new Date(ms).toISOString();

/**
 * The files of the TLS section `section` (`server.tls`), read and checked so that a problem names its setting: a file
 * that cannot be read, one that holds no PEM certificate or key, a key that is not the certificate's, or a certificate
 * whose validity period does not include `now`. Why here: OpenSSL's own error ("PEM routines::no start line") names
 * neither setting nor file, and OpenSSL keeps a certificate and key per key type, so a key of another type would load
 * beside the certificate and fail every handshake later. OpenSSL also loads an expired certificate without a word, and
 * every client then refuses the node (CERT_HAS_EXPIRED), even `kai status`, which could have said why.
 * Throws a `ConfigError` (a `CertificateNotYetValidError` for a certificate whose period has not begun).
 */
export function readTlsFiles(section: string, settings: TlsFileSettings, now = Date.now()): TlsFiles {
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
      // A key encrypted with a passphrase (PKCS#8's ENCRYPTED PRIVATE KEY, or OpenSSL's legacy Proc-Type header): said
      // as such, with what to do; OpenSSL's own words for it are "interrupted or cancelled".
      if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(files.key.toString("latin1"))) {
        throw refuse("keyFile", settings.keyFile, "holds a private key protected by a passphrase, which the node cannot ask for: give it the key unencrypted (openssl pkey -in <key> -out <new key>), readable by the node's user alone");
      }
      throw refuse("keyFile", settings.keyFile, "holds no PEM private key", error);
    }
    if (!certificate.checkPrivateKey(privateKey)) throw refuse("keyFile", settings.keyFile, `is not the private key of ${section}.certFile ${settings.certFile}`);
    // The leaf only, the one every client checks: a chain file may carry an expired cross-signed certificate that
    // clients skip when they build their path (Let's Encrypt's long chain did), and refusing that would stop a node
    // its clients accept. Node 20 gives the dates as text ("Dec  9 08:00:00 2026 GMT"), which Date.parse reads as UTC.
    const validFrom = Date.parse(certificate.validFrom);
    const validTo = Date.parse(certificate.validTo);
    if (validTo < now) throw refuse("certFile", settings.certFile, `holds a certificate that expired on ${isoOf(validTo)}`);
    if (validFrom > now) throw new CertificateNotYetValidError(`${section}.certFile ${settings.certFile} holds a certificate that is not valid until ${isoOf(validFrom)}`, validFrom);
  }
  if (settings.caFile !== undefined) {
    files.ca = readConfiguredFile(settings.caFile, `${section}.caFile`);
    certificateIn("caFile", settings.caFile, files.ca);
  }
  return files;
}
