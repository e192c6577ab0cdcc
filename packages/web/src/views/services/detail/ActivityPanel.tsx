/**
 * @module views/services/detail/ActivityPanel
 * The service at work, as this instance saw it over the last hour: its breaker (state, when it lets a probe
 * through, its changes), the router's live view (in flight, smoothed latency, the last minute), calls and latency
 * per minute, the health checker's verdicts over time and its latest failed calls.
 */
import type { ServiceActivity } from "@kai/sdk";
import { Badge } from "../../../components/Badge";
import { Panel } from "../../../components/Page";
import { TrafficChart } from "../../../components/charts/TrafficChart";
import { Figures, RecentErrors } from "../../../components/charts/TrafficTables";
import { formatCount, formatMs } from "../../../components/charts/format";
import { When } from "../../../components/When";
import { toneFor, wordFor } from "../../../components/status-tones";

export function ActivityPanel({ activity }: { activity: ServiceActivity }) {
  const { breaker, runtime } = activity;
  return (
    <Panel title="Activity">
      <div className="space-y-4">
        <dl aria-label="Breaker and live state" className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
          <div className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <dt className="text-xs text-slate-600 dark:text-slate-400">Breaker</dt>
            <dd>
              <Badge tone={toneFor(breaker.state)}>{wordFor(breaker.state)}</Badge>
              {breaker.retryAfterMs > 0 && <span className="ml-1 text-xs">probe in {formatMs(breaker.retryAfterMs)}</span>}
            </dd>
          </div>
          <div className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <dt className="text-xs text-slate-600 dark:text-slate-400">In flight</dt>
            <dd className="text-lg font-semibold">{formatCount(runtime.inFlight)}</dd>
          </div>
          <div className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <dt className="text-xs text-slate-600 dark:text-slate-400">Smoothed latency</dt>
            <dd className="text-lg font-semibold">{formatMs(runtime.ewmaLatencyMs)}</dd>
          </div>
          <div className="rounded border border-slate-200 p-2 dark:border-slate-700">
            <dt className="text-xs text-slate-600 dark:text-slate-400">Last minute</dt>
            <dd className="text-lg font-semibold">
              {formatCount(runtime.requestsLastMinute)} calls
              {runtime.tokensLastMinute > 0 && <span className="block text-xs font-normal">{formatCount(runtime.tokensLastMinute)} tokens</span>}
            </dd>
          </div>
        </dl>
        <section aria-labelledby="activity-hour">
          <h3 id="activity-hour" className="mb-2 text-sm font-medium">
            Last hour <span className="font-normal text-slate-600 dark:text-slate-400">(this instance)</span>
          </h3>
          <Figures label="Service in the last hour" totals={activity.traffic.totals} />
          <div className="mt-3 grid gap-4 lg:grid-cols-2">
            <TrafficChart title="Calls and errors per minute" kind="traffic" minutes={activity.traffic.minutes} />
            <TrafficChart title="Latency per minute" kind="latency" minutes={activity.traffic.minutes} />
          </div>
        </section>
        <div className="grid gap-4 lg:grid-cols-2">
          <section aria-labelledby="activity-health">
            <h3 id="activity-health" className="mb-2 text-sm font-medium">
              Health history
            </h3>
            {activity.healthHistory.length === 0 ? (
              <p className="text-sm">{activity.health === "unknown" ? "No health check verdicts: the service declares no health check, or none ran yet." : "No change of verdict recently."}</p>
            ) : (
              <ol aria-label="Health verdicts, oldest first" className="space-y-1 text-sm">
                {activity.healthHistory.map((entry, index) => (
                  <li key={`${entry.at}-${index}`}>
                    <When at={entry.at} kind="time" /> <Badge tone={toneFor(entry.health)}>{entry.health}</Badge>
                  </li>
                ))}
              </ol>
            )}
          </section>
          <section aria-labelledby="activity-breaker">
            <h3 id="activity-breaker" className="mb-2 text-sm font-medium">
              Breaker changes
            </h3>
            {breaker.changes.length === 0 ? (
              <p className="text-sm">The breaker has not changed state recently.</p>
            ) : (
              <ol aria-label="Breaker changes, oldest first" className="space-y-1 text-sm">
                {breaker.changes.map((change, index) => (
                  <li key={`${change.at}-${index}`}>
                    <When at={change.at} kind="time" /> {wordFor(change.from)} → <Badge tone={toneFor(change.to)}>{wordFor(change.to)}</Badge>
                  </li>
                ))}
              </ol>
            )}
          </section>
        </div>
        <RecentErrors errors={activity.recentErrors} showService={false} />
      </div>
    </Panel>
  );
}
