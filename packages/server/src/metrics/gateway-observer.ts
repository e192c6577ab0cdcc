/**
 * @module metrics/gateway-observer
 * Feeds the router's traffic into the Prometheus series: upstream calls by service and outcome, their
 * latency, tokens the providers reported, calls in flight, breaker state. The router calls it on a
 * microtask after the fact, so none of this sits on a request's path.
 */
import type { BreakerState, RouterObserver } from "../gateway/router/index.js";
import type { NodeMetrics } from "./metrics.js";

const BREAKER_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

export function gatewayMetricsObserver(metrics: NodeMetrics): RouterObserver {
  return {
    onAttempt(event) {
      metrics.gatewayInFlight.inc({ service: event.serviceId });
    },
    onResult(event) {
      const labels = { service: event.serviceId, provider: event.provider, capability: event.capability };
      metrics.gatewayInFlight.dec({ service: event.serviceId });
      metrics.gatewayRequests.inc({ ...labels, outcome: event.outcome === "ok" ? "ok" : (event.code ?? event.outcome) });
      metrics.gatewayDuration.observe(labels, event.latencyMs / 1000);
      if (event.usage?.prompt_tokens) metrics.gatewayTokens.inc({ service: event.serviceId, kind: "prompt" }, event.usage.prompt_tokens);
      if (event.usage?.completion_tokens) metrics.gatewayTokens.inc({ service: event.serviceId, kind: "completion" }, event.usage.completion_tokens);
    },
    onSkip(event) {
      metrics.gatewaySkips.inc({ service: event.serviceId, reason: event.reason });
    },
    onBreakerChange(event) {
      metrics.gatewayBreaker.set({ service: event.serviceId }, BREAKER_VALUE[event.to] ?? 0);
    },
  };
}
