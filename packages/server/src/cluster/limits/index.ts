/**
 * @module cluster/limits
 * Rate counters shared by every instance of the node (see docs/architecture/limits.md).
 */
export { createRateLimits, memoryRateLimits, type LimitsBackend, type LimitsLogger, type RateLimitsOptions } from "./rate-limits.js";
export { LimitStoreUnavailable, type CounterOptions, type CountSource, type LimitsState, type RateLimits, type WhenStoreDown, type WindowCount, type WindowCounter } from "./limit-types.js";
export { LIMITS_SCHEMA, LIMITS_TABLE } from "./pg-limits-schema.js";
