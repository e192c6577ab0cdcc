/**
 * @module http/rate-limit
 * The request rate-limit tiers (issue 14, the seed's global / api / auth), each answering 429 `rate_limited` with
 * `Retry-After`, and the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` headers on every
 * limited route:
 * - `api`: per token, one bucket each for reads, writes, heartbeats and gateway calls (`config.bucket`), so that a
 *   chatty reader cannot starve its own heartbeats. Counted by @fastify/rate-limit after authentication
 *   (preHandler), so the key is the verified token id, not a guessable header.
 * - `global`: per client address (IPv6: per /64), on every request that carries no valid token or session and
 *   whose route has no api bucket: the sign-in routes, the docs. Authenticated requests are not counted here: their
 *   token's api buckets bound them, and one more shared count per request would cost the registry's hot path (100k
 *   registrations from one address with one token must pass). A public route with an api bucket (KLP's reads)
 *   already counts anonymous callers per address in that bucket, so each response describes one limit. Health
 *   probes and KLP's signature-authenticated routes (which have KLP's per-sender budget) are not counted at all.
 * - `auth`: per client address on the public sign-in routes (`config.bucket: "auth"`), against floods of sign-in
 *   attempts; guessing one account is slowed further by the sign-in throttle (auth/throttle).
 * The per-address tiers run as route-level onRequest hooks: after the scope's authentication (so they know whether
 * the request authenticated) and before the body is read (a refused flood costs no parsing).
 *
 * Where buckets are counted: in this process (`SharedRateStore`, one instance) or, when the node runs as several
 * instances, in the shared counters the composition root passes (`limits`, see cluster/limits and
 * docs/architecture/limits.md), so N instances do not allow N times a limit. A shared api bucket that cannot be
 * checked answers 503 `storage_unavailable`; the per-address tiers count this instance's share instead, so the docs
 * and KLP reads stay up while the database is away.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import rateLimit, { type FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { SharedRateStore } from "./shared-rate-store.js";
import { sharedFastifyStore, type FastifyRateStore } from "../cluster/limits/fastify-store.js";
import { addressKey } from "../cluster/limits/address-key.js";
import type { RateLimits } from "../cluster/limits/limit-types.js";
import type { Config } from "../config/config-schema.js";
import { ApiError } from "../errors.js";

/** The per-token buckets of the `api` tier. */
export type ApiBucket = "read" | "write" | "heartbeat" | "gateway";
/** Every bucket a route can name in `config.bucket`: the api buckets and the `auth` tier of the sign-in routes. */
export type RateBucket = ApiBucket | "auth";

/** The route config of a public sign-in route (`config: AUTH_TIER`): the `auth` tier, per client address. */
export const AUTH_TIER: FastifyContextConfig = { bucket: "auth" };

const API_BUCKETS: ReadonlySet<string> = new Set<ApiBucket>(["read", "write", "heartbeat", "gateway"]);

/** Routes the `global` tier does not count: health probes, and KLP's routes authenticated by signatures. */
const GLOBAL_TIER_EXEMPT: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/klp", "/klp/message", "/klp/register"]);

/** The standard headers (draft-ietf-httpapi-ratelimit-headers, as @fastify/rate-limit's `enableDraftSpec` names them). */
const HEADERS = { limit: "RateLimit-Limit", remaining: "RateLimit-Remaining", reset: "RateLimit-Reset" } as const;

interface TierVerdict {
  limit: number;
  total: number;
  resetSeconds: number;
}

/** A per-address tier: its limit and window (read per request: they change live), counted in a store with the api buckets' `incr` shape. */
interface AddressTier {
  name: "global" | "auth";
  limits: () => { max: number; windowSeconds: number };
  store: FastifyRateStore | SharedRateStore;
}

/**
 * Installs the tiers. `settings` is read per request (each tier's max and window), so a runtime change of
 * `rateLimit.<tier>` applies to the next request; `enabled` is read once (it decides which hooks exist).
 */
export async function installRateLimit(app: FastifyInstance, settings: () => Config["rateLimit"], limits?: RateLimits): Promise<void> {
  if (!settings().enabled) return;
  const tier = (name: AddressTier["name"]): AddressTier => ({
    name,
    limits: () => settings()[name],
    // Each tier its own counter name, so a global and an auth window of the same length never meet.
    store: limits?.shared ? new (sharedFastifyStore(limits, `tier-${name}`, { whenDown: "local" }))({}) : new SharedRateStore({}),
  });
  const globalTier = tier("global");
  const authTier = tier("auth");

  // Give every route that names an api bucket that bucket's limit, shared across routes through `groupId`, and every
  // route its per-address tiers. This hook must be added before the plugin's own onRoute hook, which reads `config.rateLimit`.
  app.addHook("onRoute", (route: RouteOptions) => {
    const bucket = (route.config as { bucket?: RateBucket } | undefined)?.bucket;
    const apiBucket = bucket !== undefined && API_BUCKETS.has(bucket);
    if (apiBucket) {
      const name = bucket as ApiBucket;
      route.config = { ...(route.config ?? {}), rateLimit: { max: () => settings()[name].max, timeWindow: () => settings()[name].windowSeconds * 1000, groupId: bucket } } as RouteOptions["config"];
    }
    const tiers = [...(apiBucket || GLOBAL_TIER_EXEMPT.has(route.url) ? [] : [globalTier]), ...(bucket === "auth" ? [authTier] : [])];
    if (tiers.length > 0) route.onRequest = [...hooksOf(route.onRequest), addressTiersHook(tiers)];
  });
  await app.register(rateLimit, {
    global: false,
    hook: "preHandler",
    enableDraftSpec: true,
    // The plugin calls incr(key, callback, timeWindow, max); its published type omits the last two.
    store: (limits?.shared ? sharedFastifyStore(limits) : SharedRateStore) as unknown as FastifyRateLimitStoreCtor,
    keyGenerator: (request: FastifyRequest) => request.principal?.tokenId ?? request.ip,
    errorResponseBuilder: (_request, context) => rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}

function rateLimited(retryAfterSeconds: number): ApiError {
  return new ApiError("rate_limited", `rate limit exceeded; retry in ${retryAfterSeconds}s`, undefined, { "Retry-After": String(retryAfterSeconds) });
}

type OnRequestHook = Extract<NonNullable<RouteOptions["onRequest"]>, readonly unknown[]>[number];

function hooksOf(hooks: RouteOptions["onRequest"]): OnRequestHook[] {
  if (!hooks) return [];
  return Array.isArray(hooks) ? [...(hooks as OnRequestHook[])] : [hooks as OnRequestHook];
}

/**
 * The onRequest hook of a route's per-address tiers. Callback-style so that an authenticated request (the hot path)
 * passes without a promise; an anonymous one is counted in every tier of the route, and the tier closest to its
 * limit (or over it) is the one the headers describe.
 */
function addressTiersHook(tiers: readonly AddressTier[]) {
  return function limitByAddress(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
    if (request.principal) return done();
    const key = addressKey(request.ip);
    Promise.all(tiers.map((tier) => hit(tier, key))).then(
      (verdicts) => {
        const worst = verdicts.reduce((a, b) => (b.limit - b.total < a.limit - a.total ? b : a));
        reply.header(HEADERS.limit, worst.limit).header(HEADERS.remaining, Math.max(0, worst.limit - worst.total)).header(HEADERS.reset, worst.resetSeconds);
        done(worst.total > worst.limit ? rateLimited(Math.max(1, worst.resetSeconds)) : undefined);
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  };
}

function hit(tier: AddressTier, key: string): Promise<TierVerdict> {
  const { max, windowSeconds } = tier.limits();
  return new Promise((resolve, reject) => {
    tier.store.incr(`${tier.name}:${key}`, (error, result) => {
      if (error || !result) reject(error ?? new Error("the rate counter gave no answer"));
      else resolve({ limit: max, total: result.current, resetSeconds: Math.ceil(result.ttl / 1000) });
    }, Math.round(windowSeconds * 1000), max);
  });
}
