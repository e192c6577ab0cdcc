/**
 * @module views/overview/TrafficPanel
 * The gateway right now and over the last hour: calls, error rate, latency p50/p99 and calls in flight; two charts
 * (calls and errors, latency) per minute; traffic by capability and by service (each service links to its page);
 * breakers that are not closed; the latest errors with their code and request id, to find them in the logs.
 */
import { Link } from "react-router";
import type { MetricsSummary, TrafficTotals } from "@kai/sdk";
import { Badge } from "../../components/Badge";
import { Panel } from "../../components/Page";
import { TrafficChart } from "../../components/charts/TrafficChart";
import { formatCount, formatMs, formatRate } from "../../components/charts/format";
import { Figures, RecentErrors } from "../../components/charts/TrafficTables";
import { toneFor, wordFor } from "../../components/status-tones";

function Breakdown({ caption, rows }: { caption: string; rows: Array<TrafficTotals & { name: string; link?: string }> }) {
  if (rows.length === 0) return null;
  return (
    <table className="w-full text-left text-sm">
      <caption className="mb-1 text-left text-sm font-medium">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Calls</th>
          <th scope="col">Error rate</th>
          <th scope="col">p50</th>
          <th scope="col">p99</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.name}>
            <th scope="row" className="font-normal">
              {row.link ? (
                <Link to={row.link} className="underline">
                  {row.name}
                </Link>
              ) : (
                row.name
              )}
            </th>
            <td>{formatCount(row.requests)}</td>
            <td>{formatRate(row.errorRate, row.requests)}</td>
            <td>{formatMs(row.p50Ms)}</td>
            <td>{formatMs(row.p99Ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TrafficPanel({ summary }: { summary: MetricsSummary }) {
  return (
    <Panel title="Gateway traffic">
      <div className="space-y-4">
        <section aria-labelledby="traffic-now">
          <h3 id="traffic-now" className="mb-2 text-sm font-medium">
            Right now <span className="font-normal text-slate-600 dark:text-slate-400">(last {Math.round(summary.now.windowSeconds)} s, this instance)</span>
          </h3>
          <Figures label="Gateway right now" totals={summary.now} extra={{ term: "In flight", value: formatCount(summary.now.inFlight) }} />
        </section>
        <section aria-labelledby="traffic-hour">
          <h3 id="traffic-hour" className="mb-2 text-sm font-medium">
            Last hour
          </h3>
          <Figures label="Gateway in the last hour" totals={summary.lastHour.totals} />
          <div className="mt-3 grid gap-4 lg:grid-cols-2">
            <TrafficChart title="Calls and errors per minute" kind="traffic" minutes={summary.lastHour.minutes} />
            <TrafficChart title="Latency per minute" kind="latency" minutes={summary.lastHour.minutes} />
          </div>
        </section>
        {summary.breakers.length > 0 && (
          <section aria-labelledby="traffic-breakers">
            <h3 id="traffic-breakers" className="mb-2 text-sm font-medium">
              Breakers not closed
            </h3>
            <ul className="space-y-1 text-sm">
              {summary.breakers.map((breaker) => (
                <li key={breaker.serviceId}>
                  <Link to={`/services/${encodeURIComponent(breaker.serviceId)}`} className="underline">
                    {breaker.serviceId}
                  </Link>{" "}
                  <Badge tone={toneFor(breaker.state)}>{wordFor(breaker.state)}</Badge>
                  {breaker.retryAfterMs > 0 && <span className="ml-1 text-xs">retry in {formatMs(breaker.retryAfterMs)}</span>}
                </li>
              ))}
            </ul>
          </section>
        )}
        <div className="grid gap-4 lg:grid-cols-2">
          <Breakdown caption="By capability (last hour)" rows={summary.byCapability.map((row) => ({ ...row, name: row.capability }))} />
          <Breakdown caption="Busiest services (last hour)" rows={summary.byService.map((row) => ({ ...row, name: row.serviceId, link: `/services/${encodeURIComponent(row.serviceId)}` }))} />
        </div>
        <RecentErrors errors={summary.recentErrors} showService />
      </div>
    </Panel>
  );
}
