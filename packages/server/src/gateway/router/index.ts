/**
 * @module gateway/router
 * Public surface of the capability router, for the front doors (`/v1/*`, `/api/route/{capability}`),
 * `/metrics` and the composition root.
 */
export { CapabilityRouter, type CapabilityRouterDeps, type RoutableModel } from "./capability-router.js";
export { attemptsOf } from "./route-execution.js";
export { applyLiveRouting, LIVE_ROUTING_KEYS, routerOptions, routerOptionsFromConfig } from "./router-options.js";
export { CAPABILITY_OPERATION, MODEL_OPERATIONS, OPERATION_CAPABILITY, type OperationTypes, type RequestOf, type ResponseOf, type RouteOperation } from "./operations.js";
export { GATEWAY_ACTOR } from "./credentials.js";
export { isLocalService } from "./is-local.js";
export type { BreakerState } from "./circuit-breaker.js";
export type { ServiceStats } from "./service-stats.js";
export type {
  AttemptEvent,
  AttemptInfo,
  BreakerEvent,
  ResultEvent,
  RouteContext,
  RouteMeta,
  RouteResult,
  RoutedStream,
  RouterObserver,
  RouterOptions,
  SkipReason,
} from "./router-types.js";
