/**
 * @module observations
 * `client.observations`: what the node measured of its gateway traffic, as JSON — right now and per minute over the
 * last hour (`GET /api/metrics/summary`, scope `metrics:read`) and one service's activity: traffic, breaker, health
 * history, recent errors (`GET /api/services/{id}/activity`, scope `services:read`). Figures are the answering
 * instance's own (`scope: "instance"`).
 */
import { MetricsSummarySchema, ServiceActivitySchema, type MetricsSummary, type ServiceActivity } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

export interface ObservationsClient {
  /** Gateway calls, errors and latency now and over the last hour; by capability and service; open breakers; recent errors. */
  summary(): Promise<MetricsSummary>;
  /** One service's traffic over the last hour, its breaker, health-check history and recent errors. */
  service(id: string): Promise<ServiceActivity>;
}

export function createObservationsClient(http: HttpTransport): ObservationsClient {
  return {
    summary: async () => (await http.request("GET", "/api/metrics/summary", { schema: MetricsSummarySchema })).data,
    service: async (id) => (await http.request("GET", `/api/services/${encodeURIComponent(id)}/activity`, { schema: ServiceActivitySchema })).data,
  };
}
