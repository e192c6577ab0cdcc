/**
 * @module extension/ServiceSummary
 * The popup's (and the empty side panel's) view of a node: services by status, and the first services with
 * their status in words, each of which can be opened in the side panel. A glance, not the services table: the
 * full app (a tab) has the table with its filters and 100,000 rows.
 */
import { useQuery } from "@tanstack/react-query";
import { useClient } from "../app/session";
import { Badge, toneOf } from "../components/Badge";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";

/** How many services the glance lists (the rest are in the full app). */
const SHOWN = 25;

export function ServiceSummary({ onOpen, openLabel }: { onOpen(id: string): void; openLabel: string }) {
  const client = useClient();
  const status = useQuery({ queryKey: ["extension", "status"], queryFn: () => client.status(), refetchInterval: 10_000 });
  const services = useQuery({ queryKey: ["extension", "services"], queryFn: () => client.services.list({ limit: SHOWN }), refetchInterval: 10_000 });
  const byStatus = status.data ? Object.entries(status.data.registry.byStatus).filter(([, count]) => count > 0) : [];
  return (
    <div className="space-y-3">
      <section aria-labelledby="node-status-title" className="space-y-1">
        <h2 id="node-status-title" className="text-sm font-semibold">
          Node
        </h2>
        <ErrorNotice error={status.error} title="The node did not answer" />
        {status.data && (
          <p className="text-sm">
            Version {status.data.node.version}, {status.data.registry.services} services
            {byStatus.length > 0 && ": "}
            {byStatus.map(([name, count], index) => (
              <span key={name}>
                {index > 0 && ", "}
                {count} {name}
              </span>
            ))}
          </p>
        )}
      </section>
      <section aria-labelledby="services-title" className="space-y-1">
        <h2 id="services-title" className="text-sm font-semibold">
          Services
        </h2>
        <ErrorNotice error={services.error} title="Could not list the services" />
        {services.isPending && <p role="status" className="text-sm">Loading…</p>}
        {services.data && services.data.services.length === 0 && <p className="text-sm">No services are registered yet.</p>}
        {services.data && services.data.services.length > 0 && (
          <ul aria-labelledby="services-title" className="divide-y divide-slate-200 dark:divide-slate-700">
            {services.data.services.map((service) => (
              <li key={service.id} className="flex items-center justify-between gap-2 py-1.5">
                <span className="min-w-0 truncate text-sm" title={service.id}>
                  {service.name}
                </span>
                <span className="flex shrink-0 items-center gap-2">
                  <Badge tone={toneOf(service.status)}>{service.status}</Badge>
                  <Button aria-label={`${openLabel}: ${service.name}`} onClick={() => onOpen(service.id)}>
                    {openLabel}
                  </Button>
                </span>
              </li>
            ))}
          </ul>
        )}
        {services.data?.nextCursor && <p className="text-xs">More services in the full app.</p>}
      </section>
    </div>
  );
}
