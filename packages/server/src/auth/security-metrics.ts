/**
 * @module auth/security-metrics
 * `kai_security_events_total{type, outcome}` on the node's Prometheus registry (docs/operations/metrics.md): the
 * security log's events as they are recorded (auth/security-log.ts), so that an operator can alert on a burst of
 * failed sign-ins, the login throttle holding someone back, or a second-factor recovery code used
 * (deploy/prometheus/kai-alerts.yml). `type` is one of the node's own event names (`sign_in_failed`, `role_changed`,
 * …), never text from a request, so the series stay few. Each instance counts what it recorded.
 */
import { Counter, type Registry } from "prom-client";
import type { SecurityEventInput } from "./security-log.js";

/** What the security log calls for each event it recorded. */
export type SecurityEventObserver = (type: string, outcome: SecurityEventInput["outcome"]) => void;

export function registerSecurityMetrics(registry: Registry): SecurityEventObserver {
  const events = new Counter({
    name: "kai_security_events_total",
    help: "Security log events recorded by this instance, by type (sign_in, sign_in_failed, sign_in_throttled, mfa_failed, …) and outcome",
    labelNames: ["type", "outcome"],
    registers: [registry],
  });
  return (type, outcome) => events.inc({ type, outcome });
}
