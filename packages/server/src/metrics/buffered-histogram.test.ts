// BufferedHistogram must expose exactly what prom-client's Histogram exposes for the same observations: the same
// text (series order, cumulative buckets, +Inf, _sum, _count, label order) and the same JSON, with and without
// labels, before and after a reset. Checked against a real prom-client Histogram fed the same random values.
import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BufferedHistogram, type HistogramSeries } from "./buffered-histogram.js";

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The same metric name in two registries: one prom-client Histogram, one BufferedHistogram. */
function pair<L extends string>(labelNames: readonly L[]) {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram<L>({ name: "t_duration_seconds", help: "t help", labelNames, buckets: BUCKETS, registers: [theirs] });
  const buffered = new BufferedHistogram<L>({ name: "t_duration_seconds", help: "t help", labelNames, buckets: BUCKETS, registers: [ours] });
  return { theirs, ours, reference, buffered };
}

const observation = fc.record({
  series: fc.constantFrom(["POST", "/v1/chat/completions"], ["GET", "/api/services/:id"], ["GET", "unmatched"], ["PUT", 'quote"and\\slash']),
  value: fc.oneof(fc.double({ min: 0, max: 200, noNaN: true }), fc.constantFrom(0, 0.0005, 0.001, 120, 120.0001, 1e9, -1)),
});

describe("BufferedHistogram", () => {
  it("renders the same text and JSON as prom-client's Histogram, series by series", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
        const { theirs, ours, reference, buffered } = pair(["method", "route"] as const);
        const handles = new Map<string, HistogramSeries>();
        for (const { series, value } of observations) {
          const [method, route] = series as [string, string];
          reference.labels({ method, route }).observe(value);
          let handle = handles.get(`${method} ${route}`);
          if (!handle) handles.set(`${method} ${route}`, (handle = buffered.add({ method, route })));
          handle.observe(value);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });

  it("exports a histogram without labels from the start, and matches after a reset", async () => {
    const { theirs, ours, reference, buffered } = pair([]);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const value of [0.0003, 0.7, 3, 500]) {
      reference.observe(value);
      buffered.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    theirs.resetMetrics();
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    reference.observe(0.002);
    buffered.observe(0.002);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it("drops labelled series on reset until they are observed again, through the handles callers kept", async () => {
    const { theirs, ours, reference, buffered } = pair(["service"] as const);
    const a = buffered.add({ service: "a" });
    const b = buffered.add({ service: "b" });
    a.observe(1);
    b.observe(2);
    reference.labels({ service: "a" }).observe(1);
    reference.labels({ service: "b" }).observe(2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    theirs.resetMetrics();
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    b.observe(0.01);
    reference.labels({ service: "b" }).observe(0.01);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it("refuses what prom-client refuses: unknown label names and values that are not finite numbers", () => {
    const { buffered } = pair(["service"] as const);
    expect(() => buffered.add({ other: "x" } as never)).toThrow(/not included/);
    const series = buffered.add({ service: "a" });
    expect(() => series.observe(Number.NaN)).toThrow(TypeError);
    expect(() => series.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => buffered.observe(1)).toThrow(/has labels/);
  });
});
