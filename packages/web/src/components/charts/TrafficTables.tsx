/**
 * @module components/charts/TrafficTables
 * Traffic figures as people read them: a row of terms (calls, error rate, p50, p99, …) and the table of recent
 * failed calls (time, service, stable code, operation, request id to find it in the logs). Shared by the overview
 * and a service's page.
 */
import { Link } from "react-router";
import type { RecentError, TrafficTotals } from "@kai/sdk";
import { formatCount, formatMs, formatRate } from "./format";
import { When } from "../When";

export function Figures({ label, totals, extra }: { label: string; totals: TrafficTotals; extra?: { term: string; value: string } }) {
  const items = [
    { term: "Calls", value: formatCount(totals.requests) },
    { term: "Error rate", value: formatRate(totals.errorRate, totals.requests) },
    { term: "Latency p50", value: formatMs(totals.p50Ms) },
    { term: "Latency p99", value: formatMs(totals.p99Ms) },
    ...(extra ? [extra] : []),
  ];
  return (
    <dl aria-label={label} className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-5">
      {items.map((item) => (
        <div key={item.term} className="rounded border border-slate-200 p-2 dark:border-slate-700">
          <dt className="text-xs text-slate-600 dark:text-slate-400">{item.term}</dt>
          <dd className="text-lg font-semibold">{item.value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function RecentErrors({ errors, showService }: { errors: readonly RecentError[]; showService: boolean }) {
  if (errors.length === 0) return <p className="text-sm">No failed calls recently.</p>;
  return (
    <table className="w-full text-left text-sm">
      <caption className="mb-1 text-left text-sm font-medium">Recent errors</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          {showService && <th scope="col">Service</th>}
          <th scope="col">Code</th>
          <th scope="col">Operation</th>
          <th scope="col">Request id</th>
        </tr>
      </thead>
      <tbody>
        {errors.map((error, index) => (
          <tr key={`${error.at}-${error.requestId ?? index}`}>
            <td>
              <When at={error.at} kind="time" />
            </td>
            {showService && (
              <td>
                <Link to={`/services/${encodeURIComponent(error.serviceId)}`} className="underline">
                  {error.serviceId}
                </Link>
              </td>
            )}
            <td className="font-mono">{error.code}</td>
            <td>
              {error.operation}
              {error.model ? ` (${error.model})` : ""}
            </td>
            <td className="font-mono text-xs">{error.requestId ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

