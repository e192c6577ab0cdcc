/**
 * @module views/overview/TlsPanel
 * The TLS certificates the node presents (its own for HTTPS, its client certificate to peers) and how long each has
 * left, from `GET /api/status` (issue 19). An expiry is shown weeks ahead: a renewal that stopped is otherwise seen
 * only when every client refuses the node. A change to the files that did not load is shown as well: the node then
 * still uses the last good ones, and a renewed certificate is not live. Shown only when the node uses TLS files.
 */
import { certificateTimeLeft, type TlsStatus } from "@kai/protocol";
import { Badge, type Tone } from "../../components/Badge";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";

/** As the shipped alerts (deploy/prometheus/kai-alerts.yml): a warning under 14 days, critical under 3. */
const WARN_DAYS = 14;
const CRITICAL_DAYS = 3;

function expiryWords(notAfter: string, now: number): { words: string; tone: Tone } {
  const left = certificateTimeLeft(notAfter, now);
  if (left.expired) return { words: "expired", tone: "bad" };
  return { words: `${left.words} left`, tone: left.days < CRITICAL_DAYS ? "bad" : left.days < WARN_DAYS ? "warn" : "good" };
}

export function TlsPanel({ tls, now = Date.now() }: { tls: TlsStatus; now?: number }) {
  return (
    <Panel title="TLS">
      {tls.notReloaded.length > 0 && (
        <p role="alert" className="mb-3 text-sm text-red-800 dark:text-red-300">
          The TLS files of {tls.notReloaded.join(" and ")} changed but do not load: the node still uses the last good ones. Its log says why (Console,
          level warn).
        </p>
      )}
      {tls.certificates.length === 0 ? (
        <p className="text-sm">The node presents no certificate of its own (only a CA is set).</p>
      ) : (
        <dl aria-label="TLS certificates" className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          {tls.certificates.map((certificate) => {
            const expiry = expiryWords(certificate.notAfter, now);
            return (
              <div key={certificate.setting} className="contents">
                <dt className="font-mono text-xs">{certificate.setting}</dt>
                <dd>
                  <Badge tone={expiry.tone}>{expiry.words}</Badge> <span>{certificate.subject}</span>
                  <span className="text-slate-600 dark:text-slate-400">
                    {" "}
                    · issued by {certificate.issuer} · valid until <When at={certificate.notAfter} />
                  </span>
                </dd>
              </div>
            );
          })}
        </dl>
      )}
    </Panel>
  );
}
