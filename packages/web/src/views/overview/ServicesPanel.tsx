/**
 * @module views/overview/ServicesPanel
 * Services at a glance: how many the signed-in user can see, by status, and the health checks' verdicts (node-wide,
 * for those who may read metrics). Each status links to the services list filtered by it.
 */
import { Link } from "react-router";
import type { MetricsSummary, StatusResponse } from "@kai/sdk";
import { Badge } from "../../components/Badge";
import { Panel } from "../../components/Page";
import { formatCount } from "../../components/charts/format";
import { useCan } from "../../app/session";
import { toneFor } from "../../components/status-tones";

const STATUSES = ["active", "degraded", "maintenance", "offline"] as const;

export function ServicesPanel({ status, health }: { status: StatusResponse; health: MetricsSummary["health"] | undefined }) {
  const canList = useCan("services:read");
  const { registry } = status;
  return (
    <Panel title="Services">
      <p className="mb-3 text-2xl font-semibold" data-testid="services-total">
        {formatCount(registry.services)} <span className="text-sm font-normal">services you can see</span>
      </p>
      <dl aria-label="Services by status" className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
        {STATUSES.map((name) => (
          <div key={name} className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <dt>
              <Badge tone={toneFor(name)}>{name}</Badge>
            </dt>
            <dd className="mt-1 text-lg font-semibold">
              {canList ? (
                <Link to={`/services?status=${name}`} className="underline decoration-dotted" aria-label={`${formatCount(registry.byStatus[name] ?? 0)} ${name}`}>
                  {formatCount(registry.byStatus[name] ?? 0)}
                </Link>
              ) : (
                formatCount(registry.byStatus[name] ?? 0)
              )}
            </dd>
          </div>
        ))}
      </dl>
      {health && (
        <p className="mt-3 text-sm">
          Health checks: <Badge tone="good">passing</Badge> {formatCount(health.passing)} · <Badge tone="bad">failing</Badge> {formatCount(health.failing)}
        </p>
      )}
      {registry.expiryGuard.engaged && (
        <p role="status" className="mt-3 text-sm">
          <Badge tone="warn">expiry held back</Badge> {registry.expiryGuard.reason ?? "too many leases expired at once"}
        </p>
      )}
    </Panel>
  );
}
