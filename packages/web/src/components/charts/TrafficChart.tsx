/**
 * @module components/charts/TrafficChart
 * An hour of per-minute traffic as a chart: calls and errors, or latency p50 and p99. uPlot (with its stylesheet) is
 * imported on first render, so it lands in its own chunk and never in the first load. The chart is a picture for
 * sighted users; the same numbers are in a table under "Show the numbers", and the figure's label says the gist, so
 * a screen reader (and a browser without canvas) loses nothing. Series differ by dash as well as colour.
 */
import { useEffect, useId, useRef, useState, useSyncExternalStore } from "react";
import type { TrafficMinute } from "@kai/sdk";
import { formatCount, formatMs } from "./format";
import { formatInstant } from "../format-date";
import { When } from "../When";

export type ChartKind = "traffic" | "latency";

interface SeriesSpec {
  label: string;
  colour: string;
  dash?: number[];
  /** Dots on each value: a latency measured in one minute only is a point, not a line. */
  points?: boolean;
  value(minute: TrafficMinute): number | null;
}

const SERIES: Record<ChartKind, SeriesSpec[]> = {
  traffic: [
    { label: "Calls", colour: "#0284c7", value: (m) => m.requests },
    { label: "Errors", colour: "#dc2626", dash: [6, 4], value: (m) => m.errors },
  ],
  latency: [
    { label: "p50 (ms)", colour: "#059669", points: true, value: (m) => m.p50Ms },
    { label: "p99 (ms)", colour: "#d97706", dash: [6, 4], points: true, value: (m) => m.p99Ms },
  ],
};

/** The gist in words, for the figure's accessible name. */
export function describeChart(kind: ChartKind, minutes: readonly TrafficMinute[]): string {
  if (kind === "traffic") {
    const calls = minutes.reduce((sum, m) => sum + m.requests, 0);
    const errors = minutes.reduce((sum, m) => sum + m.errors, 0);
    const peak = minutes.reduce((max, m) => Math.max(max, m.requests), 0);
    return `${formatCount(calls)} calls and ${formatCount(errors)} errors in the last hour; busiest minute ${formatCount(peak)} calls`;
  }
  const p99s = minutes.map((m) => m.p99Ms).filter((v): v is number => v !== null);
  if (p99s.length === 0) return "No latency measured in the last hour";
  return `Latency p99 between ${formatMs(Math.min(...p99s))} and ${formatMs(Math.max(...p99s))} in the last hour`;
}

/** Whether the page is dark now (the theme switch sets the `dark` class on <html>): the canvas must be redrawn. */
function subscribeTheme(onChange: () => void): () => void {
  if (typeof MutationObserver === "undefined") return () => undefined;
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  return () => observer.disconnect();
}
const isDark = () => document.documentElement.classList.contains("dark");

type Drawn = { destroy(): void; setData(data: never): void; setSize(size: { width: number; height: number }): void };

function seriesData(specs: readonly SeriesSpec[], minutes: readonly TrafficMinute[]) {
  return [minutes.map((m) => Date.parse(m.at) / 1000), ...specs.map((spec) => minutes.map((m) => spec.value(m)))];
}

export function TrafficChart({ title, kind, minutes }: { title: string; kind: ChartKind; minutes: readonly TrafficMinute[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const chart = useRef<Drawn | null>(null);
  const latest = useRef(minutes);
  latest.current = minutes;
  const [drawn, setDrawn] = useState(false);
  const captionId = useId();
  const specs = SERIES[kind];
  const dark = useSyncExternalStore(subscribeTheme, isDark, () => false);

  // The chart is made once per kind and theme; new minutes only replace its data (no flicker on every poll).
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    let resize: ResizeObserver | undefined;
    let live = true;
    void (async () => {
      try {
        const [{ default: UPlot }] = await Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]);
        if (!live) return;
        // Canvas colours cannot follow CSS: axes take the text colour the page has now (light or dark).
        const ink = getComputedStyle(element).color || "#334155";
        const axis = { stroke: ink, grid: { stroke: "rgba(127,127,127,0.2)" }, ticks: { stroke: "rgba(127,127,127,0.3)" } };
        chart.current = new UPlot(
          {
            width: Math.max(240, element.clientWidth || 480),
            height: 180,
            // The minutes' times as every page writes them (format-date), not uPlot's own 12-hour, month-first words.
            series: [{ value: (_u: unknown, seconds: number | null) => (seconds === null ? "—" : formatInstant(seconds * 1000, "time")) }, ...specs.map((spec) => ({ label: spec.label, stroke: spec.colour, width: 2, ...(spec.dash ? { dash: spec.dash } : {}), ...(spec.points ? { points: { show: true, size: 6 } } : {}) }))],
            axes: [{ ...axis, values: (_u: unknown, splits: number[]) => splits.map((seconds) => formatInstant(seconds * 1000, "minute")) }, { ...axis, size: 56 }],
            scales: { y: { range: (_u: unknown, _min: number, max: number) => [0, Math.max(1, max)] as [number, number] } },
            cursor: { drag: { x: false, y: false } },
          },
          seriesData(specs, latest.current) as never,
          element,
        ) as unknown as Drawn;
        setDrawn(true);
        if (typeof ResizeObserver !== "undefined") {
          resize = new ResizeObserver(() => chart.current?.setSize({ width: Math.max(240, element.clientWidth), height: 180 }));
          resize.observe(element);
        }
      } catch {
        // No canvas (an old browser, a test DOM): the numbers below still say everything.
        if (live) setDrawn(false);
      }
    })();
    return () => {
      live = false;
      resize?.disconnect();
      chart.current?.destroy();
      chart.current = null;
      element.replaceChildren();
    };
  }, [specs, dark]);

  useEffect(() => {
    chart.current?.setData(seriesData(specs, minutes) as never);
  }, [specs, minutes]);

  const active = minutes.filter((m) => m.requests > 0);
  return (
    <figure aria-labelledby={captionId} className="space-y-2">
      <figcaption id={captionId} className="text-sm font-medium">
        {title}
        <span className="sr-only">: {describeChart(kind, minutes)}</span>
      </figcaption>
      <div ref={holder} aria-hidden="true" className="min-h-[1rem] w-full overflow-hidden text-slate-700 dark:text-slate-300" />
      {!drawn && <p className="text-xs text-slate-600 dark:text-slate-400">{describeChart(kind, minutes)}.</p>}
      <details className="text-sm">
        <summary className="cursor-pointer text-sky-800 underline dark:text-sky-300">Show the numbers</summary>
        {active.length === 0 ? (
          <p className="mt-2">No calls in the last hour.</p>
        ) : (
          <table className="mt-2 w-full text-left text-xs">
            <caption className="sr-only">{title}, minutes with calls</caption>
            <thead>
              <tr>
                <th scope="col">Minute</th>
                <th scope="col">Calls</th>
                <th scope="col">Errors</th>
                <th scope="col">p50</th>
                <th scope="col">p99</th>
              </tr>
            </thead>
            <tbody>
              {active.map((m) => (
                <tr key={m.at}>
                  <td>
                    <When at={m.at} kind="time" />
                  </td>
                  <td>{formatCount(m.requests)}</td>
                  <td>{formatCount(m.errors)}</td>
                  <td>{formatMs(m.p50Ms)}</td>
                  <td>{formatMs(m.p99Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </figure>
  );
}
