/**
 * @module http/tls-server
 * TLS terminated by the node itself (issue 19, `server.tls`): the HTTPS server Fastify runs on (its `serverFactory`),
 * the certificate files read again when they change, and the client-certificate rule for KLP's routes.
 *
 * - Reload: the files' folders are watched (a renewal by write-and-rename, certbot's symlink swap or a Kubernetes
 *   secret update are all seen), events coalesced for a moment; the new pair goes live with `setSecureContext`, so
 *   connections made from then on get it and open ones keep theirs. A pair that does not load (a key that does not
 *   match, a half-written file) keeps the last good one and says why in the log.
 * - Client certificates: `all` makes the TLS handshake refuse a client without a certificate signed by `caFile`;
 *   `peers` asks every client for one but lets the handshake through, and `/klp/*` then answers 401 unless the
 *   certificate was verified (other nodes authenticate by TLS as well as by their signed envelopes; browsers and the
 *   CLI need none).
 */
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from "node:https";
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/config-schema.js";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import { watchFileFolders, type FolderWatch } from "../config/watch-folders.js";
import { readTlsFiles } from "../config/configured-file.js";
import type { TlsCertificates } from "./tls-certificates.js";

type TlsSettings = Config["server"]["tls"];

/** True when the node terminates TLS itself. */
export function tlsEnabled(settings: TlsSettings): boolean {
  return settings.certFile !== undefined && settings.keyFile !== undefined;
}

/** The certificate, key and CA as the TLS layer takes them, read now and checked (a `ConfigError` names the setting). */
function secureContextOf(settings: TlsSettings): Pick<ServerOptions, "cert" | "key" | "ca"> {
  return readTlsFiles("server.tls", settings);
}

/**
 * Fastify's `serverFactory` for an HTTPS server with these settings. The cast: Fastify types its raw server as an
 * http.Server unless told otherwise at every use; an https.Server has the same request/upgrade interface.
 */
export function tlsServerFactory(settings: TlsSettings, certificates: TlsCertificates): (handler: (request: IncomingMessage, response: ServerResponse) => void) => HttpServer {
  return (handler) => {
    const files = secureContextOf(settings);
    certificates.loaded("server.tls", files.cert as Buffer | undefined);
    return createHttpsServer({
      ...files,
      // Modern clients only; Node's defaults for ciphers.
      minVersion: "TLSv1.2",
      requestCert: settings.clientCertificates !== "off",
      rejectUnauthorized: settings.clientCertificates === "all",
    }, handler) as unknown as HttpServer;
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

/** KLP's routes need a verified client certificate when `clientCertificates` is `peers`. */
export function requirePeerCertificates(app: FastifyInstance, settings: TlsSettings): void {
  if (settings.clientCertificates !== "peers") return;
  app.addHook("onRequest", (request, _reply, done) => {
    // The route matched, not the URL as sent: `/klp?x` reaches the `/klp` route too, and passed a test of the URL.
    const route = request.routeOptions.url ?? request.url.split("?", 1)[0]!;
    if (!route.startsWith("/klp/") && route !== "/klp") return done();
    const socket = request.raw.socket as TLSSocket;
    if (presentedVerifiedCertificate(socket)) return done();
    done(new ApiError("unauthorized", "KLP on this node needs a client certificate signed by its CA (server.tls.clientCertificates: peers)"));
  });
}

/**
 * Watches the certificate files and loads a changed pair into the running server, telling `certificates` what is in
 * use; `close()` stops watching.
 */
export function watchTlsFiles(server: HttpServer, settings: TlsSettings, certificates: TlsCertificates, logger: Logger, settleMs = 200): FolderWatch {
  const https = server as unknown as HttpsServer;
  const reload = () => {
    try {
      const files = secureContextOf(settings);
      https.setSecureContext({ ...files, minVersion: "TLSv1.2" });
      certificates.loaded("server.tls", files.cert as Buffer | undefined);
      logger.info({ certFile: settings.certFile }, "TLS certificate reloaded");
    } catch (error) {
      certificates.notReloaded("server.tls");
      logger.warn({ reason: error instanceof Error ? error.message : String(error) }, "the TLS certificate files changed but do not load: kept the last good certificate");
    }
  };
  const files = [settings.certFile, settings.keyFile, settings.caFile].filter((file): file is string => file !== undefined);
  // A symlink swap renames files under other names (`..data`): those count too.
  return watchFileFolders({ files, onChange: reload, logger, what: "TLS certificate files", settleMs, linkedNames: true });
}
