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

/**
 * The routing settings that change live (`PATCH /api/config`, a reloaded file): the router reads them from its
 * options object on every request, so writing them there is all it takes. `retryOn`/`failoverOn` are kept as sets per
 * options object and the breaker's settings are copied into each breaker, so those need a restart.
 */
export const LIVE_ROUTING_KEYS = ["defaultStrategy", "deadlineMs", "attemptTimeoutMs", "streamIdleTimeoutMs", "retries", "backoff"] as const;

/** Writes the live routing settings of `gateway` into the router's options object (in place: the router holds it). */
export function applyLiveRouting(options: RouterOptions, gateway: Config["gateway"]): void {
  const fresh = routerOptionsFromConfig(gateway);
  const target = options as { -readonly [K in keyof RouterOptions]: RouterOptions[K] };
  for (const key of LIVE_ROUTING_KEYS) (target as Record<string, unknown>)[key] = fresh[key];
}

/** The defaults with some settings changed (tests, embedding). */
export function routerOptions(overrides: Partial<RouterOptions> = {}): RouterOptions {
  return { ...routerOptionsFromConfig(ConfigSchema.parse({}).gateway), ...overrides };
}
