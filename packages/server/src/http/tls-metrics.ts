/**
 * @module http/tls-metrics
 * The TLS series on the node's Prometheus registry (docs/operations/metrics.md), read at scrape time from what the
 * instance uses now (http/tls-certificates.ts):
 * - `kai_tls_certificate_expiration_timestamp_seconds{setting}`: when each certificate file the node presents stops
 *   being valid (its chain's earliest end), named as cert-manager names its own series;
 * - `kai_tls_last_reload_successful{section}`: 0 after a change to a section's files that did not load, named as
 *   Prometheus names its configuration's (`prometheus_config_last_reload_successful`).
 * The shipped alerts (deploy/prometheus/kai-alerts.yml) fire weeks before an expiry and when a renewal did not load.
 * A node without TLS files exports the families with no samples.
 */
import { Gauge, type Registry } from "prom-client";
import type { TlsCertificates } from "./tls-certificates.js";

export function registerTlsMetrics(registry: Registry, certificates: TlsCertificates): void {
  new Gauge({
    name: "kai_tls_certificate_expiration_timestamp_seconds",
    help: "When the certificate file named by setting stops being valid (the earliest end among its chain), as a Unix time",
    labelNames: ["setting"],
    registers: [registry],
    collect() {
      this.reset();
      for (const certificate of certificates.status()?.certificates ?? []) {
        this.set({ setting: certificate.setting }, Date.parse(certificate.notAfter) / 1000);
      }
    },
  });
  new Gauge({
    name: "kai_tls_last_reload_successful",
    help: "1 when the last change to the section's TLS files loaded (or they never changed), 0 when it did not and the last good files are still used",
    labelNames: ["section"],
    registers: [registry],
    collect() {
      this.reset();
      for (const section of certificates.sections()) this.set({ section }, certificates.lastReloadSucceeded(section) ? 1 : 0);
    },
  });
}
