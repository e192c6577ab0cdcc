/**
 * @module klp/peer-tls
 * The TLS side of this node's own connections to peers: KLP over HTTPS and WSS (reading a node document, opening a
 * session, each message of an HTTP session), set by `federation.tls`, or `server.tls` when that section is absent;
 * a section given takes only its client certificate pair from `server.tls` (see `peerTlsFiles`).
 *
 * - The client certificate: a peer whose `server.tls.clientCertificates` is `peers` or `all` asks every client for
 *   one, and its KLP routes refuse a connection without a certificate signed by its CA (mTLS between nodes, issue
 *   19). Before this module the node presented none, so two kai nodes could not federate under that rule at all.
 * - The CA: peers' server certificates are verified (never switched off) against the system's roots, the
 *   certificates of `NODE_EXTRA_CA_CERTS`, and `caFile`. Node's `ca` option replaces its default store rather than
 *   adding to it, hence the roots and the extra file are listed again beside `caFile`.
 * - Renewal: the files' folders are watched (config/watch-folders.ts, as the server's own certificate); connections
 *   made after a change use the new files, open ones keep theirs. Files that do not load (a certificate expired or
 *   not valid yet among them) keep the last good ones and the log says why; at start they stop the node with the
 *   file named, as the server's certificate does.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import { watchFileFolders, type FolderWatch } from "../config/watch-folders.js";
import { readTlsFiles } from "../config/configured-file.js";
import { reloadWhenValid, type ValidityRetry } from "../config/reload-when-valid.js";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { TlsCertificates, type TlsSection } from "../http/tls-certificates.js";

export interface PeerTlsFiles {
  /** The client certificate (chain) presented to peers that ask for one; with `keyFile`. */
  certFile?: string;
  keyFile?: string;
  /** A CA that signs peers' server certificates, trusted beside the system's roots. */
  caFile?: string;
  /** The section the pair comes from: named when a file cannot be used, and in the status (default `federation.tls`). */
  pairFrom?: TlsSection;
  /** The section `caFile` comes from (default `federation.tls`). */
  caFrom?: TlsSection;
}

/** What KLP's requests to peers set: the global fetch and undici's take it alike. */
export interface PeerRequestInit {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  redirect?: "error";
}

/** What `tls.connect` (through `ws` and undici) takes: absent fields keep Node's defaults. */
export interface PeerSocketOptions {
  ca?: Array<string | Buffer>;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * The files of this node's connections to peers:
 * - no `federation.tls` section: `server.tls`'s pair and `caFile`, as they are (one CA for a mesh of nodes, each
 *   certificate made for serverAuth and clientAuth);
 * - a `federation.tls` section: the CA is its `caFile` alone (none: the system's roots only, never `server.tls.caFile`,
 *   which a section given does not widen trust to); the pair is its own, else `server.tls`'s unless
 *   `presentCertificate: false`. The pair falls back because the whole section once stood in for `server.tls`'s:
 *   setting only `federation.tls.caFile` (to trust another CA for peers) silently stopped presenting the client
 *   certificate, and peers that need one refused the node. The CA does not: a section given to change the pair must
 *   not start trusting, for peers' server certificates, a CA meant only for clients of this node.
 * Undefined when no file serves (Node's defaults apply).
 */
export function peerTlsFiles(config: Pick<Config, "server" | "federation">): PeerTlsFiles | undefined {
  const own = config.federation.tls;
  const server = config.server.tls;
  const files: PeerTlsFiles = {};
  const serverPair = server.certFile !== undefined && server.keyFile !== undefined ? { certFile: server.certFile, keyFile: server.keyFile, pairFrom: "server.tls" as const } : undefined;
  if (own === undefined) {
    Object.assign(files, serverPair ?? {});
    if (server.caFile !== undefined) Object.assign(files, { caFile: server.caFile, caFrom: "server.tls" });
  } else {
    if (own.presentCertificate !== false) {
      if (own.certFile !== undefined && own.keyFile !== undefined) Object.assign(files, { certFile: own.certFile, keyFile: own.keyFile, pairFrom: "federation.tls" });
      else Object.assign(files, serverPair ?? {});
    }
    if (own.caFile !== undefined) Object.assign(files, { caFile: own.caFile, caFrom: "federation.tls" });
  }
  return files.certFile === undefined && files.caFile === undefined ? undefined : files;
}

let extraCa: Buffer[] | undefined;
/**
 * The certificates of `NODE_EXTRA_CA_CERTS`, which Node adds to its default store only. Read once, as Node does (it
 * reads the file at start and never again), not at every reload of the node's own files.
 */
function extraCaCertificates(): Buffer[] {
  if (extraCa) return extraCa;
  const file = process.env.NODE_EXTRA_CA_CERTS;
  try {
    extraCa = file ? [readFileSync(file)] : [];
  } catch {
    // Node itself warns at start about a file it cannot read; its certificates are then not in the default store either.
    extraCa = [];
  }
  return extraCa;
}

/**
 * One part of the files (the pair, or the CA), read and reloaded on its own: each may come from another section.
 * `reader` is its name in the status record (http/tls-certificates.ts), beside the HTTPS server's: one per part, so
 * that a CA that loads does not clear the failure of a pair from the same section that did not.
 */
interface Part {
  section: TlsSection;
  reader: string;
  read(): PeerSocketOptions;
}

/** The pair and the CA of `files`, each a part that reads and checks its files (readTlsFiles) when asked. */
function partsOf(files: PeerTlsFiles): Part[] {
  const parts: Part[] = [];
  if (files.certFile !== undefined && files.keyFile !== undefined) {
    const section = files.pairFrom ?? "federation.tls";
    const pair = { certFile: files.certFile, keyFile: files.keyFile };
    parts.push({
      section,
      reader: "peers' certificate",
      read: () => {
        const { cert, key } = readTlsFiles(section, pair);
        return { cert: cert!, key: key! };
      },
    });
  }
  if (files.caFile !== undefined) {
    const section = files.caFrom ?? "federation.tls";
    const caFile = files.caFile;
    parts.push({ section, reader: "peers' CA", read: () => ({ ca: [...rootCertificates, ...extraCaCertificates(), readTlsFiles(section, { caFile }).ca!] }) });
  }
  return parts;
}

/** Reads and checks `files` as `PeerTls` would, and lets them go (the node's start checks every TLS file first). */
export function checkPeerTlsFiles(files: PeerTlsFiles): void {
  for (const part of partsOf(files)) part.read();
}

export class PeerTls {
  private readonly parts: Part[];
  /** What each part loaded last (the last good files of a part that did not reload). */
  private readonly loadedParts: PeerSocketOptions[];
  private options: PeerSocketOptions;
  /** The undici Agent of KLP's HTTP requests with these options, made when first needed. */
  private agent: Agent | undefined;
  private readonly watch: FolderWatch;
  private readonly retry: ValidityRetry;

  /**
   * Reads the files (throws when one cannot be used) and watches them for renewals; `certificates` is told what is in
   * use and which changes did not load (the node's status and metrics read it).
   */
  constructor(private readonly files: PeerTlsFiles, private readonly logger: Logger, private readonly certificates = new TlsCertificates()) {
    this.parts = partsOf(files);
    this.loadedParts = this.parts.map((part) => part.read());
    this.options = Object.assign({}, ...this.loadedParts) as PeerSocketOptions;
    this.parts.forEach((part, i) => certificates.loaded(part.section, this.loadedParts[i]!.cert, part.reader));
    this.retry = reloadWhenValid(() => this.reload());
    this.watch = watchFileFolders({
      files: [files.certFile, files.keyFile, files.caFile].filter((file): file is string => file !== undefined),
      onChange: () => this.reload(),
      logger,
      what: "federation TLS files",
      linkedNames: true,
    });
  }

  /** Options for a connection made now (`ws`'s, or `node:https`'s). */
  socketOptions(): PeerSocketOptions {
    return this.options;
  }

  /**
   * `fetch` with these options. undici's own fetch, because it takes undici's Agent as its dispatcher; the cast:
   * its Response is the same WHATWG Response as the global one, typed by another package.
   */
  async fetch(url: string | URL, init: PeerRequestInit): Promise<Response> {
    this.agent ??= new Agent({ connect: this.options });
    return (await undiciFetch(url, { ...init, dispatcher: this.agent })) as unknown as Response;
  }

  close(): void {
    this.retry.cancel();
    this.watch.close();
    void this.agent?.close().catch(() => {});
  }

  /** Reads every part again; one that does not load keeps its last good files, and the others still take theirs. */
  private reload(): void {
    this.retry.cancel();
    let changed = false;
    this.parts.forEach((part, i) => {
      try {
        this.loadedParts[i] = part.read();
        this.certificates.loaded(part.section, this.loadedParts[i]!.cert, part.reader);
        changed = true;
      } catch (error) {
        this.certificates.notReloaded(part.section, part.reader);
        // Files that are server.tls's own: the HTTPS server's reload says the same at warn already (one line, not two).
        this.logger[this.serverFilesOnly() ? "debug" : "warn"]({ reason: (error as Error).message }, "federation TLS files not reloaded; the last good ones stay in use");
        this.retry.after(error);
      }
    });
    if (!changed) return;
    this.options = Object.assign({}, ...this.loadedParts) as PeerSocketOptions;
    // Requests on their way finish on the old Agent; the next one makes a new Agent with the new files.
    const old = this.agent;
    this.agent = undefined;
    void old?.close().catch(() => {});
    this.logger[this.serverFilesOnly() ? "debug" : "info"]({ files: this.files }, "federation TLS files reloaded");
  }

  /**
   * True when every file is `server.tls`'s (a node without a `federation.tls` section shows peers its own HTTPS
   * certificate): its reloads are logged by the HTTPS server, and the same line from here was noise on every renewal.
   */
  private serverFilesOnly(): boolean {
    return (this.files.certFile === undefined || this.files.pairFrom === "server.tls") && (this.files.caFile === undefined || this.files.caFrom === "server.tls");
  }
}

/** `fetch` for KLP's requests to peers: through `tls` when the node has any, else Node's own. */
export function peerFetch(tls: PeerTls | undefined, url: string | URL, init: PeerRequestInit): Promise<Response> {
  return tls ? tls.fetch(url, init) : fetch(url, init);
}
