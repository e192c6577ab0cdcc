/**
 * @module gateway/router/router-options
 * The router's settings from the `gateway` section of the server configuration (defaults live in
 * `config/config-schema.ts`, so tests and the server agree on them).
 */
import { ConfigSchema, type Config } from "../../config/config-schema.js";
import type { RouterOptions } from "./router-types.js";

export function routerOptionsFromConfig(gateway: Config["gateway"]): RouterOptions {
  return {
    defaultStrategy: gateway.defaultStrategy,
    deadlineMs: gateway.deadlineMs,
    attemptTimeoutMs: gateway.attemptTimeoutMs,
    streamIdleTimeoutMs: gateway.streamIdleTimeoutMs,
    maxResponseBytes: gateway.maxResponseBytes,
    retries: gateway.retries,
    retryOn: gateway.retryOn,
    failoverOn: gateway.failoverOn,
    backoff: { ...gateway.backoff },
    breaker: { ...gateway.breaker },
    rateLimitCooldownMs: gateway.rateLimitCooldownMs,
    modelRefreshMs: gateway.modelRefreshMs,
    credentialCacheMs: gateway.credentialCacheMs,
    latencyEwmaAlpha: gateway.latencyEwmaAlpha,
  };
}

/** The defaults with some settings changed (tests, embedding). */
export function routerOptions(overrides: Partial<RouterOptions> = {}): RouterOptions {
  return { ...routerOptionsFromConfig(ConfigSchema.parse({}).gateway), ...overrides };
}
