/**
 * @module http/tls-certificates
 * What this instance knows about the TLS certificates it presents now, for its operators (issue 19): the node's own
 * for HTTPS (`server.tls`) and its client certificate to peers (`federation.tls`'s, else `server.tls`'s pair). Each
 * file is read again when it changes on disk (http/tls-server.ts, klp/peer-tls.ts); both tell this record what they
 * loaded, or that a change did not load (a certificate expired or not valid yet included).
 *
 * Why: a renewal that stops (a cron job gone, cert-manager failing) is seen by users only when the certificate has
 * expired and every client refuses the node. From this record the node reports, before that happens, when each chain
 * expires and whether the last change to its files loaded: in `GET /api/status` (`kai status`, the web app's overview)
 * and as Prometheus series that the shipped alerts watch (http/tls-metrics.ts, deploy/prometheus/kai-alerts.yml).
 */
import { X509Certificate } from "node:crypto";
import type { TlsCertificateStatus, TlsStatus } from "@kai/protocol";

export type TlsSection = TlsStatus["notReloaded"][number];

/**
 * The certificates of a PEM file, in order (a leaf and its intermediates). Node's X509Certificate reads only the first
 * certificate of what it is given and has no call that lists a chain, hence the split on PEM's armour lines.
 */
export function certificatesIn(pem: Buffer | string): X509Certificate[] {
  const text = typeof pem === "string" ? pem : pem.toString("utf8");
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(([block]) => new X509Certificate(block));
}

/** `CN=localhost\nO=kAI` (how Node prints a name) as `CN=localhost, O=kAI`. */
const oneLine = (name: string) => name.split("\n").filter(Boolean).join(", ");

/** The status of a certificate file from its bytes: the first certificate's names, the chain's earliest end. */
export function certificateStatus(setting: TlsCertificateStatus["setting"], pem: Buffer | string): TlsCertificateStatus | undefined {
  const chain = certificatesIn(pem);
  const first = chain[0];
  if (first === undefined) return undefined;
  // Node 20 gives `validTo` as text only ("Dec  9 08:00:00 2026 GMT"), which Date.parse reads as UTC.
  const notAfter = Math.min(...chain.map((certificate) => Date.parse(certificate.validTo)));
  return { setting, subject: oneLine(first.subject), issuer: oneLine(first.issuer), notAfter: new Date(notAfter).toISOString() };
}

export class TlsCertificates {
  private readonly presented = new Map<TlsCertificateStatus["setting"], TlsCertificateStatus>();
  /** Sections whose files this instance uses (a certificate, a CA, or both). */
  private readonly used = new Set<TlsSection>();
  /**
   * Per section, the readers whose last reload of its files failed. By reader, because two read `server.tls`'s files
   * when peers get its pair or its CA (klp/peer-tls.ts): one that reads only the CA and loads it must not clear the
   * failure of the HTTPS server, whose pair did not load.
   */
  private readonly failing = new Map<TlsSection, Set<string>>();

  /**
   * `section`'s files loaded and are in use by `reader` (at start, or after a change): `cert` is its certificate file's
   * bytes when this reader uses that file (a reader of a CA alone leaves the certificate reported as it is).
   */
  loaded(section: TlsSection, cert: Buffer | undefined, reader: string = section): void {
    this.used.add(section);
    const readers = this.failing.get(section);
    readers?.delete(reader);
    if (readers?.size === 0) this.failing.delete(section);
    if (cert === undefined) return;
    const setting = `${section}.certFile` as const;
    const status = certificateStatus(setting, cert);
    if (status) this.presented.set(setting, status);
  }

  /** A change to `section`'s files did not load for `reader`: the last good ones stay in use. */
  notReloaded(section: TlsSection, reader: string = section): void {
    this.used.add(section);
    const readers = this.failing.get(section) ?? new Set<string>();
    this.failing.set(section, readers.add(reader));
  }

  /** Whether the last change to `section`'s files loaded (true too when they never changed). */
  lastReloadSucceeded(section: TlsSection): boolean {
    return !this.failing.has(section);
  }

  /** Sections this instance uses files of. */
  sections(): TlsSection[] {
    return [...this.used].sort();
  }

  /** What `GET /api/status` says; `undefined` when this instance uses no TLS files. */
  status(): TlsStatus | undefined {
    if (this.used.size === 0) return undefined;
    return {
      certificates: [...this.presented.values()].sort((a, b) => a.setting.localeCompare(b.setting)),
      notReloaded: [...this.failing.keys()].sort(),
    };
  }
}
