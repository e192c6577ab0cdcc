/**
 * @module node-tls/tls-settings
 * TLS settings read and checked once for a client in Node: a CA trusted beside the system's roots, and a client
 * certificate with its key, each given as PEM text or read from a file. `nodeTls` builds its fetch and WebSocket on
 * them, and the CLI its `--ca-file`/`--client-cert`/`--client-key`, so that both read files and refuse wrong ones alike.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

/** PEM text, either given or read from a file (`…File`); a setting may be given one way, not both. */
export interface NodeTlsOptions {
  /** A CA certificate (PEM), trusted besides the system's roots. */
  ca?: string | Buffer;
  caFile?: string;
  /** The client certificate (PEM) for a node that asks for one; goes with `key`. */
  cert?: string | Buffer;
  certFile?: string;
  /** The client certificate's private key (PEM). */
  key?: string | Buffer;
  keyFile?: string;
}

/** What every connection is given: `ca` already holds the system's roots beside the CA. */
export interface TlsConnectOptions {
  ca?: string[];
  cert?: string;
  key?: string;
}

/** A setting that cannot be used: which one, the file it was read from (if it was), and what is wrong with it. */
export class TlsSettingError extends TypeError {
  override readonly name = "TlsSettingError";

  constructor(
    readonly setting: "ca" | "cert" | "key",
    readonly file: string | undefined,
    readonly problem: string,
  ) {
    super(`nodeTls: ${file !== undefined ? `${setting}File ${file}` : setting} ${problem}`);
  }
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function pem(setting: "ca" | "cert" | "key", value: string | Buffer | undefined, file: string | undefined): string | undefined {
  if (value !== undefined && file !== undefined) throw new TypeError(`nodeTls: give ${setting} or ${setting}File, not both`);
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new TlsSettingError(setting, file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
  } else if (value !== undefined) text = value.toString();
  else return undefined;
  // A wrong file (a key given as the certificate, a DER file) is named here, not by an opaque handshake failure later.
  if (!(setting === "key" ? PRIVATE_KEY : CERTIFICATE).test(text)) throw new TlsSettingError(setting, file, `holds no PEM ${setting === "key" ? "private key" : "certificate"}`);
  return text;
}

/** The settings read and checked (see the module comment); a client certificate without its key is a TypeError. */
export function tlsConnectOptions(options: NodeTlsOptions): TlsConnectOptions {
  const ca = pem("ca", options.ca, options.caFile);
  const cert = pem("cert", options.cert, options.certFile);
  const key = pem("key", options.key, options.keyFile);
  if ((cert === undefined) !== (key === undefined)) throw new TypeError("nodeTls: a client certificate needs its key (cert and key go together)");
  if (cert !== undefined && key !== undefined) checkPair(cert, key, options);
  // Node's `ca` replaces the system's roots; added to them, a private CA does not stop public certificates verifying.
  return { ...(ca !== undefined ? { ca: [...rootCertificates, ca] } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
}

/**
 * The key must be the certificate's: a mismatched pair is otherwise accepted here and fails only at the handshake,
 * with an error of the TLS library's that names neither file (the node checks its own pair the same way).
 */
function checkPair(cert: string, key: string, options: NodeTlsOptions): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TlsSettingError("cert", options.certFile, "holds no readable PEM certificate");
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsSettingError("key", options.keyFile, "holds no readable PEM private key (or one protected by a passphrase)");
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsSettingError("key", options.keyFile, `is not the private key of the client certificate${options.certFile !== undefined ? ` ${options.certFile}` : ""}`);
  }
}
