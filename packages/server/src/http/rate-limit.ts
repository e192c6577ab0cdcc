/**
 * @module http/rate-limit
 * Per-token rate limits (@fastify/rate-limit), one bucket each for reads, writes, heartbeats and gateway calls, so that a
 * chatty reader cannot starve its own heartbeats. Answers 429 `rate_limited` with `Retry-After`.
 * Runs after authentication (preHandler), so the bucket key is the verified token id, not a guessable header.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import rateLimit, { type FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { SharedRateStore } from "./shared-rate-store.js";
import type { Config } from "../config/config-schema.js";
import { ApiError } from "../errors.js";

export async function installRateLimit(app: FastifyInstance, config: Config["rateLimit"]): Promise<void> {
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
    store: SharedRateStore as unknown as FastifyRateLimitStoreCtor,
    keyGenerator: (request: FastifyRequest) => request.principal?.tokenId ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new ApiError("rate_limited", `rate limit exceeded; retry in ${Math.ceil(context.ttl / 1000)}s`, undefined, {
        "Retry-After": String(Math.max(1, Math.ceil(context.ttl / 1000))),
      }),
  });
}
