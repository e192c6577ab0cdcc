/**
 * @module http/rate-limit
 * Per-token rate limits (@fastify/rate-limit), one bucket each for reads, writes, heartbeats and gateway calls, so that a
 * chatty reader cannot starve its own heartbeats. Answers 429 `rate_limited` with `Retry-After`.
 * Runs after authentication (preHandler), so the bucket key is the verified token id, not a guessable header.
 *
 * Where buckets are counted: in this process (`SharedRateStore`, one instance) or, when the node runs as several
 * instances, in the shared counters the composition root passes (`limits`, see cluster/limits and
 * docs/architecture/limits.md), so N instances do not allow N times a token's limit. A shared bucket that
 * cannot be checked answers 503 `storage_unavailable`.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import rateLimit, { type FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { SharedRateStore } from "./shared-rate-store.js";
import { sharedFastifyStore } from "../cluster/limits/fastify-store.js";
import type { RateLimits } from "../cluster/limits/limit-types.js";
import type { Config } from "../config/config-schema.js";
import { ApiError } from "../errors.js";

export async function installRateLimit(app: FastifyInstance, config: Config["rateLimit"], limits?: RateLimits): Promise<void> {
  if (!config.enabled) return;
  // Give every route that names a bucket that bucket's limit, shared across routes through `groupId`.
  // This hook must be added before the plugin's own onRoute hook, which reads `config.rateLimit`.
  app.addHook("onRoute", (route: RouteOptions) => {
    const bucket = (route.config as { bucket?: "read" | "write" | "heartbeat" | "gateway" } | undefined)?.bucket;
    if (!bucket) return;
    const limits = config[bucket];
    route.config = { ...(route.config ?? {}), rateLimit: { max: limits.max, timeWindow: limits.windowSeconds * 1000, groupId: bucket } } as RouteOptions["config"];
  });
  await app.register(rateLimit, {
    global: false,
    hook: "preHandler",
    // The plugin calls incr(key, callback, timeWindow, max); its published type omits the last two.
    store: (limits?.shared ? sharedFastifyStore(limits) : SharedRateStore) as unknown as FastifyRateLimitStoreCtor,
    keyGenerator: (request: FastifyRequest) => request.principal?.tokenId ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new ApiError("rate_limited", `rate limit exceeded; retry in ${Math.ceil(context.ttl / 1000)}s`, undefined, {
        "Retry-After": String(Math.max(1, Math.ceil(context.ttl / 1000))),
      }),
  });
}
