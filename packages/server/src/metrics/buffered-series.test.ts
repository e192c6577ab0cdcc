// BufferedSeries with real prom-client metrics: increments reach the exposition when the registry is read, a
// series touched only with a net zero still appears (as before buffering), and later reads add only what is new.
import { Counter, Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BufferedSeries } from "./buffered-series.js";

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((row) => row.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

describe("BufferedSeries", () => {
  it("hands counter increments to prom-client when the registry is read", async () => {
    const registry = new Registry();
    const buffer = new BufferedSeries<"route" | "status">();
    new Counter({ name: "t_requests_total", help: "t", labelNames: ["route", "status"], registers: [registry], collect() { buffer.flushInto(this); } });
    let built = 0;
    const labels = () => {
      built++;
      return { route: "/x", status: "200" };
    };
    buffer.add("/x 200", labels);
    buffer.add("/x 200", labels);
    buffer.add("/x 500", () => ({ route: "/x", status: "500" }), 3);
    expect(built).toBe(1);
    let text = await registry.metrics();
    expect(sample(text, "t_requests_total", 'route="/x",status="200"')).toBe(2);
    expect(sample(text, "t_requests_total", 'route="/x",status="500"')).toBe(3);
    // A second read adds only what happened in between.
    buffer.add("/x 200", labels);
    text = await registry.metrics();
    expect(sample(text, "t_requests_total", 'route="/x",status="200"')).toBe(3);
    expect(sample(text, "t_requests_total", 'route="/x",status="500"')).toBe(3);
  });

  it("keeps gauge deltas, including a series whose ups and downs cancel out before the first read", async () => {
    const registry = new Registry();
    const buffer = new BufferedSeries<"service">();
    new Gauge({ name: "t_in_flight", help: "t", labelNames: ["service"], registers: [registry], collect() { buffer.flushInto(this); } });
    buffer.add("a", () => ({ service: "a" }), 1);
    buffer.add("b", () => ({ service: "b" }), 1);
    buffer.add("a", () => ({ service: "a" }), -1);
    let text = await registry.metrics();
    expect(sample(text, "t_in_flight", 'service="a"')).toBe(0);
    expect(sample(text, "t_in_flight", 'service="b"')).toBe(1);
    buffer.add("b", () => ({ service: "b" }), -1);
    text = await registry.metrics();
    expect(sample(text, "t_in_flight", 'service="b"')).toBe(0);
  });
});
