/**
 * @module metrics/gateway-observer
 * Feeds the router's traffic into the Prometheus series: upstream calls by service and outcome, their
 * latency, tokens the providers reported, calls in flight, breaker state. The router calls it on a
 * microtask after the fact, so none of this sits on a request's path. The same events feed the last hour kept
 * as JSON (`metrics.activity`, node-activity.ts).
 */
import type { BreakerState, RouterObserver } from "../gateway/router/index.js";
import type { NodeMetrics } from "./metrics.js";

const BREAKER_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

export function gatewayMetricsObserver(metrics: NodeMetrics): RouterObserver {
  return {
    onAttempt(event) {
      metrics.recordGatewayInFlight(event.serviceId, 1);
      metrics.activity.recordAttempt();
    },
    onResult(event) {
      metrics.recordGatewayInFlight(event.serviceId, -1);
      const outcome = event.outcome === "ok" ? "ok" : (event.code ?? event.outcome);
      metrics.recordGatewayResult(event.serviceId, event.provider, event.capability, outcome, event.latencyMs / 1000, event.usage?.prompt_tokens, event.usage?.completion_tokens);
      metrics.activity.recordResult(event);
    },
    onSkip(event) {
      metrics.gatewaySkips.inc({ service: event.serviceId, reason: event.reason });
    },
    onBreakerChange(event) {
      metrics.gatewayBreaker.set({ service: event.serviceId }, BREAKER_VALUE[event.to] ?? 0);
      metrics.activity.recordBreaker(event);
    },
  };
}
