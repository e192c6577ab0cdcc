/**
 * @module klp/peer-tls
 * The TLS side of this node's own connections to peers: KLP over HTTPS and WSS (reading a node document, opening a
 * session, each message of an HTTP session), set by `federation.tls` (or `server.tls`'s files, see `peerTlsFiles`).
 *
 * - The client certificate: a peer whose `server.tls.clientCertificates` is `peers` or `all` asks every client for
 *   one, and its KLP routes refuse a connection without a certificate signed by its CA (mTLS between nodes, issue
 *   19). Before this module the node presented none, so two kai nodes could not federate under that rule at all.
 * - The CA: peers' server certificates are verified (never switched off) against the system's roots, the
 *   certificates of `NODE_EXTRA_CA_CERTS`, and `caFile`. Node's `ca` option replaces its default store rather than
 *   adding to it, hence the roots and the extra file are listed again beside `caFile`.
 * - Renewal: the files' folders are watched (config/watch-folders.ts, as the server's own certificate); connections
 *   made after a change use the new files, open ones keep theirs. Files that do not load keep the last good ones and
 *   the log says why; at start they stop the node with the file named, as the server's certificate does.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import { watchFileFolders, type FolderWatch } from "../config/watch-folders.js";
import { readTlsFiles } from "../config/configured-file.js";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { TlsCertificates, type TlsSection } from "../http/tls-certificates.js";

export interface PeerTlsFiles {
  /** The client certificate (chain) presented to peers that ask for one; with `keyFile`. */
  certFile?: string;
  keyFile?: string;
  /** A CA that signs peers' server certificates, trusted beside the system's roots. */
  caFile?: string;
  /** The setting the files come from, named when one cannot be read (default `federation.tls`). */
  setting?: "federation.tls" | "server.tls";
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
 * The files of `federation.tls`, or, when it is not given, those of `server.tls` (its certificate as the client
 * certificate, its `caFile` as the peers' CA); undefined when neither names any (Node's defaults apply).
 */
export function peerTlsFiles(config: Pick<Config, "server" | "federation">): PeerTlsFiles | undefined {
  const own = config.federation.tls;
  if (own !== undefined) return own.certFile === undefined && own.caFile === undefined ? undefined : own;
  const server = config.server.tls;
  if (server.certFile === undefined && server.caFile === undefined) return undefined;
  return {
    ...(server.certFile !== undefined && server.keyFile !== undefined ? { certFile: server.certFile, keyFile: server.keyFile } : {}),
    ...(server.caFile !== undefined ? { caFile: server.caFile } : {}),
    setting: "server.tls",
  };
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

/** Reads and checks the files now (readTlsFiles); throws naming the setting and file that cannot be used. */
function readOptions(files: PeerTlsFiles): PeerSocketOptions {
  const { cert, key, ca } = readTlsFiles(files.setting ?? "federation.tls", files);
  return {
    ...(ca !== undefined ? { ca: [...rootCertificates, ...extraCaCertificates(), ca] } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  };
}

export class PeerTls {
  private options: PeerSocketOptions;
  /** The undici Agent of KLP's HTTP requests with these options, made when first needed. */
  private agent: Agent | undefined;
  private readonly watch: FolderWatch;

  /**
   * Reads the files (throws when one cannot be read) and watches them for renewals; `certificates` is told what is in
   * use and which changes did not load (the node's status and metrics read it).
   */
  constructor(private readonly files: PeerTlsFiles, private readonly logger: Logger, private readonly certificates = new TlsCertificates()) {
    this.options = readOptions(files);
    certificates.loaded(this.section, this.options.cert);
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
    this.watch.close();
    void this.agent?.close().catch(() => {});
  }

  /** The section the files come from: `server.tls`'s own files when `federation.tls` is not set. */
  private get section(): TlsSection {
    return this.files.setting ?? "federation.tls";
  }

  private reload(): void {
    try {
      this.options = readOptions(this.files);
      this.certificates.loaded(this.section, this.options.cert);
    } catch (error) {
      this.certificates.notReloaded(this.section);
      this.logger.warn({ error: (error as Error).message }, "federation TLS files not reloaded; the last good ones stay in use");
      return;
    }
    // Requests on their way finish on the old Agent; the next one makes a new Agent with the new files.
    const old = this.agent;
    this.agent = undefined;
    void old?.close().catch(() => {});
    this.logger.info({ files: this.files }, "federation TLS files reloaded");
  }
}

/** `fetch` for KLP's requests to peers: through `tls` when the node has any, else Node's own. */
export function peerFetch(tls: PeerTls | undefined, url: string | URL, init: PeerRequestInit): Promise<Response> {
  return tls ? tls.fetch(url, init) : fetch(url, init);
}
