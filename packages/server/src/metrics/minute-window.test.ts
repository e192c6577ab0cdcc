// The minute window: calls land in their minute, the window forgets what is older than an hour, and quantiles are
// interpolated inside the histogram bucket that holds them (none without calls; the top bound above it).
import { describe, expect, it } from "vitest";
import { MinuteWindow, TrafficSum, quantile } from "./minute-window.js";

const MINUTE = 60_000;
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("MinuteWindow", () => {
  it("counts calls and errors per minute, oldest first, with every minute of the hour present", () => {
    const window = new MinuteWindow();
    window.record(t0, false, 20);
    window.record(t0 + 1000, true, 40);
    window.record(t0 + MINUTE, false, 30);
    const minutes = window.minutes(t0 + MINUTE + 5000);
    expect(minutes).toHaveLength(60);
    expect(minutes.at(-2)).toMatchObject({ at: new Date(t0).toISOString(), requests: 2, errors: 1, errorRate: 0.5 });
    expect(minutes.at(-1)).toMatchObject({ requests: 1, errors: 0 });
    expect(minutes[0]).toMatchObject({ requests: 0, p50Ms: null });
    expect(window.sumInto(new TrafficSum(), t0 + MINUTE, 1).totals().requests).toBe(1);
  });

  it("forgets calls older than an hour, also when their slot is not reused", () => {
    const window = new MinuteWindow();
    window.record(t0, true, 10);
    const later = t0 + 60 * MINUTE;
    expect(window.sumInto(new TrafficSum(), later).totals()).toMatchObject({ requests: 0, errors: 0 });
    expect(window.quiet(later)).toBe(true);
    expect(window.quiet(t0 + 59 * MINUTE)).toBe(false);
  });

  it("does not time a cancelled call", () => {
    const window = new MinuteWindow();
    window.record(t0, false, undefined);
    expect(window.sumInto(new TrafficSum(), t0).totals()).toMatchObject({ requests: 1, p50Ms: null });
  });
});

describe("quantile", () => {
  it("interpolates inside the bucket, and answers null without observations", () => {
    const sum = new TrafficSum();
    expect(quantile(sum.buckets, 0.5)).toBeNull();
    const window = new MinuteWindow();
    // Ten calls between 10 and 25 ms (one bucket): the median lies halfway through it.
    for (let i = 0; i < 10; i++) window.record(t0, false, 20);
    const totals = window.sumInto(new TrafficSum(), t0).totals();
    expect(totals.p50Ms).toBe(17.5);
    expect(totals.p99Ms).toBeCloseTo(24.85);
  });

  it("answers the highest bound for calls above it", () => {
    const window = new MinuteWindow();
    window.record(t0, false, 500_000);
    expect(window.sumInto(new TrafficSum(), t0).totals().p99Ms).toBe(120_000);
  });
});
