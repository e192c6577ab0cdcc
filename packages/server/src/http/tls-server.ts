/**
 * @module http/tls-server
 * TLS terminated by the node itself (issue 19, `server.tls`): the HTTPS server Fastify runs on (its `serverFactory`),
 * the certificate files read again when they change, and the client-certificate rule for KLP's routes.
 *
 * - Reload: the files' folders are watched (a renewal by write-and-rename, certbot's symlink swap or a Kubernetes
 *   secret update are all seen), events coalesced for a moment; the new pair goes live with `setSecureContext`, so
 *   connections made from then on get it and open ones keep theirs. A pair that does not load (a key that does not
 *   match, a half-written file, a certificate expired or not valid yet) keeps the last good one and says why in the
 *   log; one not valid yet is tried again when its period begins (reloadWhenValid). Files whose pair is the one served
 *   reload only `caFile` (reloadedContextOf): a change of the CA alone applies even after the certificate expired.
 * - Client certificates: `all` makes the TLS handshake refuse a client without a certificate signed by `caFile`;
 *   `peers` asks every client for one but lets the handshake through, and `/klp/*` then answers 401 unless the
 *   certificate was verified (other nodes authenticate by TLS as well as by their signed envelopes; browsers and the
 *   CLI need none). A refusal is written at warn once per client address and reason every 5 minutes at most
 *   (refusalWarnThrottle): anyone can send such requests.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/config-schema.js";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import { watchFileFolders, type FolderWatch } from "../config/watch-folders.js";
import { readTlsFiles, type TlsFiles } from "../config/configured-file.js";
import { reloadWhenValid } from "../config/reload-when-valid.js";
import type { TlsCertificates } from "./tls-certificates.js";

type TlsSettings = Config["server"]["tls"];

/** True when the node terminates TLS itself. */
export function tlsEnabled(settings: TlsSettings): boolean {
  return settings.certFile !== undefined && settings.keyFile !== undefined;
}

/** The certificate, key and CA as the TLS layer takes them, read now and checked (a `ConfigError` names the setting). */
function secureContextOf(settings: TlsSettings): TlsFiles {
  return readTlsFiles("server.tls", settings);
}

/** The certificate and key each HTTPS server serves now, as read from the files (see reloadedContextOf). */
const servedPairs = new WeakMap<HttpsServer, { cert: Buffer; key: Buffer }>();

/**
 * The files to serve after a change on disk. When the certificate and key files still hold the pair served, it is
 * kept as it is and only `caFile` is read: a change of the CA alone (a peer's CA added or withdrawn) must apply even
 * when the certificate served has expired since (or was otherwise loaded before a check it would fail now), rather
 * than the whole reload failing on a pair nobody touched. A pair that changed is read and checked in full.
 */
function reloadedContextOf(server: HttpsServer, settings: TlsSettings): TlsFiles {
  const served = servedPairs.get(server);
  if (served && settings.certFile !== undefined && settings.keyFile !== undefined && holds(settings.certFile, served.cert) && holds(settings.keyFile, served.key)) {
    return { ...served, ...(settings.caFile !== undefined ? { ca: readTlsFiles("server.tls", { caFile: settings.caFile }).ca } : {}) };
  }
  return secureContextOf(settings);
}

/** True when `file` holds exactly `bytes` (false when it cannot be read: the full read then names the problem). */
function holds(file: string, bytes: Buffer): boolean {
  try {
    return readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
}

/**
 * Fastify's `serverFactory` for an HTTPS server with these settings. The cast: Fastify types its raw server as an
 * http.Server unless told otherwise at every use; an https.Server has the same request/upgrade interface.
 */
export function tlsServerFactory(settings: TlsSettings, certificates: TlsCertificates): (handler: (request: IncomingMessage, response: ServerResponse) => void) => HttpServer {
  return (handler) => {
    const files = secureContextOf(settings);
    certificates.loaded("server.tls", files.cert as Buffer | undefined);
    const server = createHttpsServer({
      ...files,
      // Modern clients only; Node's defaults for ciphers.
      minVersion: "TLSv1.2",
      requestCert: settings.clientCertificates !== "off",
      rejectUnauthorized: settings.clientCertificates === "all",
    }, handler);
    servedPairs.set(server, { cert: files.cert!, key: files.key! });
    return server as unknown as HttpServer;
  };
}

/**
 * True when the connection's client presented a certificate that was verified. `authorized` alone is not that: Node
 * (through OpenSSL) counts a TLS 1.3 session resumed without any certificate as verified, as it would a pre-shared
 * key. So a client that connected once without a certificate (to /healthz, or to a KLP route that refused it) and
 * resumed that session got `authorized` and passed the rule below; the certificate must be there too (a session
 * resumed from one made with a verified certificate still carries it).
 */
function presentedVerifiedCertificate(socket: TLSSocket): boolean {
  if (socket.authorized !== true) return false;
  const certificate = socket.getPeerCertificate();
  return certificate !== null && typeof certificate === "object" && Object.keys(certificate).length > 0;
}

/** How often a refusal is written at warn for one client address and reason, and how many addresses are remembered. */
export const REFUSAL_WARN_EVERY_MS = 5 * 60_000;
export const REFUSAL_WARN_MAX_KEYS = 1000;

/**
 * True when a refusal of `address` for `reason` is to be written now: at most once per `everyMs` for each pair. The
 * refused request costs its sender nothing, so without this anyone could fill the log (and its disk) with warn lines.
 * Memory is bounded: past `maxKeys` pairs the oldest written is forgotten (a Map keeps insertion order, and a pair
 * written again is moved to the end).
 */
export function refusalWarnThrottle(everyMs = REFUSAL_WARN_EVERY_MS, maxKeys = REFUSAL_WARN_MAX_KEYS, now: () => number = Date.now): (address: string, reason: string) => boolean {
  const lastWarned = new Map<string, number>();
  return (address, reason) => {
    const key = `${address}\u0000${reason}`;
    const at = now();
    const last = lastWarned.get(key);
    if (last !== undefined && at - last < everyMs) return false;
    lastWarned.delete(key);
    lastWarned.set(key, at);
    while (lastWarned.size > maxKeys) lastWarned.delete(lastWarned.keys().next().value!);
    return true;
  };
}

/**
 * KLP's routes need a verified client certificate when `clientCertificates` is `peers`. `shouldWarn` decides which
 * refusals are written at warn (default: once per address and reason every 5 minutes); every one is answered 401.
 */
export function requirePeerCertificates(app: FastifyInstance, settings: TlsSettings, shouldWarn = refusalWarnThrottle()): void {
  if (settings.clientCertificates !== "peers") return;
  app.addHook("onRequest", (request, _reply, done) => {
    // The route matched, not the URL as sent: `/klp?x` reaches the `/klp` route too, and passed a test of the URL.
    const route = request.routeOptions.url ?? request.url.split("?", 1)[0]!;
    if (!route.startsWith("/klp/") && route !== "/klp") return done();
    const socket = request.raw.socket as TLSSocket;
    if (presentedVerifiedCertificate(socket)) return done();
    // Which of the two it was (a certificate missing, or one this node's CA does not verify, by OpenSSL's code), in the
    // answer and at warn here (throttled, see refusalWarnThrottle): the refused node shows the answer to its operator
    // (`kai peer show`, its log), and this side's operator has the other half of the fix.
    const shown = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
    const reason = shown ? `the one shown does not verify (${String(socket.authorizationError ?? "unverified")})` : "none was shown";
    if (shouldWarn(request.ip, reason)) request.log.warn({ remoteAddress: request.ip, reason }, "a KLP request was refused: it needs a client certificate signed by server.tls.caFile");
    done(new ApiError("unauthorized", `KLP on this node needs a client certificate signed by its CA (server.tls.clientCertificates: peers): ${reason}`));
  });
}

/**
 * Watches the certificate files and loads a changed pair into the running server, telling `certificates` what is in
 * use; `close()` stops watching.
 */
export function watchTlsFiles(server: HttpServer, settings: TlsSettings, certificates: TlsCertificates, logger: Logger, settleMs = 200): FolderWatch {
  const https = server as unknown as HttpsServer;
  const retry = reloadWhenValid(() => reload());
  const reload = () => {
    retry.cancel();
    try {
      const files = reloadedContextOf(https, settings);
      https.setSecureContext({ ...files, minVersion: "TLSv1.2" });
      servedPairs.set(https, { cert: files.cert!, key: files.key! });
      certificates.loaded("server.tls", files.cert as Buffer | undefined);
      logger.info({ certFile: settings.certFile }, "TLS certificate reloaded");
    } catch (error) {
      certificates.notReloaded("server.tls");
      logger.warn({ reason: error instanceof Error ? error.message : String(error) }, "the TLS certificate files changed but do not load: kept the last good certificate");
      retry.after(error);
    }
  };
  const files = [settings.certFile, settings.keyFile, settings.caFile].filter((file): file is string => file !== undefined);
  // A symlink swap renames files under other names (`..data`): those count too.
  const watch = watchFileFolders({ files, onChange: reload, logger, what: "TLS certificate files", settleMs, linkedNames: true });
  return {
    close() {
      retry.cancel();
      watch.close();
    },
  };
}
