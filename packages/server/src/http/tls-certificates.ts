/**
 * @module http/tls-certificates
 * What this instance knows about the TLS certificates it presents now, for its operators (issue 19): the node's own
 * for HTTPS (`server.tls`) and its client certificate to peers (`federation.tls`, or `server.tls`'s files when that
 * section is not set). Each file is read again when it changes on disk (http/tls-server.ts, klp/peer-tls.ts); both
 * tell this record what they loaded, or that a change did not load.
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
  /** Sections whose last change on disk did not load. */
  private readonly failing = new Set<TlsSection>();

  /** `section`'s files loaded and are in use (at start, or after a change): `cert` is its certificate file's bytes, if it has one. */
  loaded(section: TlsSection, cert: Buffer | undefined): void {
    this.used.add(section);
    this.failing.delete(section);
    const setting = `${section}.certFile` as const;
    const status = cert === undefined ? undefined : certificateStatus(setting, cert);
    if (status) this.presented.set(setting, status);
    else this.presented.delete(setting);
  }

  /** A change to `section`'s files did not load: the last good ones stay in use. */
  notReloaded(section: TlsSection): void {
    this.used.add(section);
    this.failing.add(section);
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
      notReloaded: [...this.failing].sort(),
    };
  }
}
