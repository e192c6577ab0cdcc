/**
 * @module config/config-schema
 * Every setting of the server, with its default. Sources, lowest precedence first: these defaults, the system,
 * policy and user files, environment variables (KAI_*), command-line flags, runtime changes (config/layers/).
 */
import { z } from "zod";
import { DEFAULT_FAILOVER_ON, DEFAULT_RETRY_ON, DurationSchema, ErrorCodeSchema, MAX_BACKUP_KDF_ITERATIONS, MIN_BACKUP_PASSPHRASE_LENGTH, RunAgentSpecSchema, traceLink } from "@kai/protocol";
import { SignInConfigSchema } from "./sign-in-config.js";
import { MfaConfigSchema } from "./mfa-config.js";
import { SsoConfigSchema } from "./sso-config.js";
import { WebConfigSchema } from "./web-config.js";
import { klp } from "@kai/protocol"; // plugins.trustedKeys

/**
 * Where an S3-compatible bucket is and how to reach it: shared by the artifacts' blob store (`artifacts.s3`) and the
 * backups' offsite copies (`backup.offsite.s3`), each with its own default key prefix.
 */
function s3ConnectionShape(defaultPrefix: string) {
  return {
    /** The endpoint of an S3-compatible server (`https://minio.example:9000`); absent: AWS S3 in `region`. */
    endpoint: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    region: z.string().min(1).max(64).default("us-east-1"),
    /** The bucket (it must exist). Required when the store is `s3`. */
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name").optional(),
    /** Prepended to every key: empty, or path segments each ending in `/`. */
    prefix: z.string().max(512).regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, "empty, or segments each ending in /").default(defaultPrefix),
    /** Bucket in the path instead of the host name, as most S3-compatible servers (MinIO, Ceph) need. */
    forcePathStyle: z.boolean().default(false),
    /** Static credentials (both or neither; `@env:NAME` reads them from the environment); neither: the AWS SDK's chain. */
    accessKeyId: z.string().min(1).max(256).optional(),
    secretAccessKey: z.string().min(1).max(256).optional(),
  };
}

const RateBucketSchema = z.strictObject({
  /** Requests allowed per window, per key (a token for the api buckets, a client address for `global` and `auth`). */
  max: z.int().min(1).default(600),
  windowSeconds: z.number().min(1).default(60),
});

/**
 * The sign-in throttle (auth/throttle/login-throttle.ts): after the free failed attempts, each further failure makes
 * the next attempt wait, twice as long each time, up to the cap. Counted per username and per client address.
 */
const SignInThrottleSchema = z
  .strictObject({
    /** Off only for tests that guess on purpose; not switched off by `rateLimit.enabled: false`. */
    enabled: z.boolean().default(true),
    /** Failed attempts per username within `windowSeconds` before any delay. */
    freeAttempts: z.int().min(1).max(1000).default(5),
    /** Failed attempts per client address (across usernames) within `windowSeconds` before any delay. */
    addressFreeAttempts: z.int().min(1).max(100_000).default(20),
    /** The first delay, seconds; each further failure doubles it. */
    baseDelaySeconds: z.int().min(1).max(3600).default(1),
    /** The longest delay, seconds (the cap: never a lockout). */
    maxDelaySeconds: z.int().min(1).max(86_400).default(900),
    /** Failures are counted in windows of this length, seconds; a window that ends forgets them. */
    windowSeconds: z.int().min(1).max(86_400).default(3600),
  })
  .refine((t) => t.maxDelaySeconds >= t.baseDelaySeconds, { message: "maxDelaySeconds must be at least baseDelaySeconds", path: ["maxDelaySeconds"] });

export const ConfigSchema = z.strictObject({
  dataDir: z.string().min(1).default("./data"),
  server: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.int().min(0).max(65535).default(7070),
      /** Largest request body accepted, bytes (413 beyond). */
      bodyLimit: z.int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
      /**
       * Longest time a request's headers and body may take to arrive, ms (408 `request_timeout`, connection closed).
       * Only arriving requests are timed: slow answers, streams and WebSockets are not; an authorised streamed upload
       * is timed by progress, cut only after this long without a byte (http/body-guard.ts).
       */
      requestTimeoutMs: z.int().min(100).max(3_600_000).default(30_000),
      /** How long shutdown waits for in-flight requests before closing connections, ms. */
      shutdownTimeoutMs: z.int().min(0).default(10_000),
      /**
       * Which proxies in front of the server to believe about the client (`X-Forwarded-For`, `-Proto`, `-Host`):
       * `false` (default: the peer address is the client), `true` (any peer: only when nothing but the proxy can reach
       * the server), or the proxies' addresses/CIDRs (also the presets `loopback`, `linklocal`, `uniquelocal`). Not a
       * hop count: Fastify refuses to trust hops without knowing the peer. Per-address limits (the global and auth
       * tiers, sign-in delays), the security log's addresses and Secure cookies behind a TLS proxy depend on it.
       */
      trustProxy: z.union([z.boolean(), z.array(z.string().min(1).max(64)).min(1).max(64)]).default(false),
      /**
       * TLS terminated by the node itself (http/tls-server.ts): a PEM certificate (chain) and its key; the files are
       * read again when they change (a renewed certificate needs no restart). `clientCertificates`: `off`; `peers`:
       * KLP's routes (/klp/*) need a client certificate signed by `caFile` (mTLS between nodes), other routes do not;
       * `all`: every connection needs one.
       */
      tls: z
        .strictObject({
          certFile: z.string().min(1).optional(),
          keyFile: z.string().min(1).optional(),
          caFile: z.string().min(1).optional(),
          clientCertificates: z.enum(["off", "peers", "all"]).default("off"),
        })
        .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), { message: "server.tls needs certFile and keyFile together", path: ["keyFile"] })
        .refine((tls) => tls.clientCertificates === "off" || tls.caFile !== undefined, { message: "server.tls.clientCertificates needs caFile (the CA that signs client certificates)", path: ["caFile"] })
        .refine((tls) => tls.clientCertificates === "off" || tls.certFile !== undefined, { message: "server.tls.clientCertificates needs certFile and keyFile (TLS itself)", path: ["clientCertificates"] })
        .prefault({}),
    })
    .prefault({}),
  /** The web app served at `/` (config/web-config.ts). */
  web: WebConfigSchema.prefault({}),
  logging: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      /** Also write logs to <dataDir>/logs/system/ (every line), logs/security/ and logs/agents/ (logging/log-files.ts). */
      file: z.boolean().default(true),
      stdout: z.boolean().default(true),
      /** The log files: a new file each UTC day and before one would pass `maxSizeMb`; files older than `retentionDays` are deleted. */
      rotation: z
        .strictObject({
          maxSizeMb: z.number().min(0.001).max(100_000).default(50),
          retentionDays: z.int().min(1).max(3650).default(30),
        })
        .prefault({}),
    })
    .prefault({}),
  storage: z
    .strictObject({
      /**
       * `sqlite` (default): one process, a file under the data dir. `postgres`: one PostgreSQL shared by every
       * instance of the node (docs/deployment.md). `memory` keeps nothing across restarts: for demos and throwaway test nodes.
       */
      kind: z.enum(["sqlite", "postgres", "memory"]).default("sqlite"),
      postgres: z
        .strictObject({
          /** `postgres://user:password@host:5432/db` (or KAI_DATABASE_URL). Required when `kind` is `postgres`. */
          url: z.string().min(1).optional(),
          /** Connections this instance opens at most (its pool), besides the one held for leader election and the one that listens. */
          poolSize: z.int().min(2).max(500).default(10),
          /** Longest a statement may run before PostgreSQL cancels it, ms (0 = no limit). */
          statementTimeoutMs: z.int().min(0).max(3_600_000).default(15_000),
          /** Longest wait for a connection (from the pool or a new one), ms; beyond it the request fails with 503 storage_unavailable. */
          connectTimeoutMs: z.int().min(100).max(600_000).default(5_000),
          tls: z
            .strictObject({
              /** `disable`, `require` (encrypted, server certificate not checked), `verify-full` (certificate and host name checked). */
              mode: z.enum(["disable", "require", "verify-full"]).default("disable"),
              /** PEM file of the CA that signed the server's certificate (verify-full). */
              caFile: z.string().min(1).optional(),
              /** Client certificate and key (PEM files) when the server asks for one. */
              certFile: z.string().min(1).optional(),
              keyFile: z.string().min(1).optional(),
            })
            .prefault({}),
          /**
           * Connections the database keeps for superusers and other clients; start is refused when
           * instances × (poolSize + 2) would go past max_connections − reserve (`cluster.expectedInstances`).
           */
          reservedConnections: z.int().min(0).max(10_000).default(10),
        })
        .prefault({}),
      sqlite: z
        .strictObject({
          /** FULL: an acknowledged write survives power loss; NORMAL: it survives a process crash (kill -9). */
          synchronous: z.enum(["full", "normal"]).default("full"),
          /**
           * WAL checkpoints run in a worker thread this often (ms), so no request waits for one; 0 = inside the
           * commit that crosses SQLite's threshold (what SQLite does by default).
           */
          checkpointIntervalMs: z.int().min(0).max(60_000).default(500),
          /**
           * Page size of a NEW database file, bytes (an existing file keeps its own). Every registration dirties
           * a few random B-tree leaves; smaller pages mean fewer bytes written to the WAL and fsynced per leaf.
           */
          pageSize: z.union([z.literal(1024), z.literal(2048), z.literal(4096), z.literal(8192), z.literal(16384)]).default(4096),
        })
        .prefault({}),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** Lifetime of tokens minted without an explicit ttl, seconds. */
      defaultTokenTtlSeconds: z.int().min(60).default(30 * 86400),
      maxTokenTtlSeconds: z.int().min(60).default(365 * 86400),
      /** Users and sessions (config/sign-in-config.ts). */
      signIn: SignInConfigSchema.prefault({}),
      /** Second factors (config/mfa-config.ts). */
      mfa: MfaConfigSchema.prefault({}),
      /** Single sign-on providers (config/sso-config.ts). */
      sso: SsoConfigSchema.prefault({}),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      /** The request tiers (global, auth, api); the sign-in throttle has its own switch (`signIn.enabled`). */
      enabled: z.boolean().default(true),
      /**
       * Tier `global`: requests per client address (IPv6: per /64) that carry no valid token or session, to routes
       * without an api bucket (sign-in, docs). Authenticated requests are counted per token by the api buckets
       * instead; health probes and KLP's signed routes (own per-sender budget) are not counted. Default as in the
       * seed: 1000 per hour.
       */
      global: RateBucketSchema.prefault({ max: 1000, windowSeconds: 3600 }),
      /** Tier `auth`: requests per client address to the public sign-in routes (login, refresh, challenge, …). */
      auth: RateBucketSchema.prefault({ max: 10, windowSeconds: 60 }),
      /** Tier `api`: per token, one bucket each for reads, writes, heartbeats and gateway calls. */
      read: RateBucketSchema.prefault({ max: 1200 }),
      write: RateBucketSchema.prefault({ max: 600 }),
      heartbeat: RateBucketSchema.prefault({ max: 1200 }),
      /** Gateway calls (/v1/*, /api/route/*) per token: their own bucket, so model traffic cannot starve registry calls. */
      gateway: RateBucketSchema.prefault({ max: 6000 }),
      /** Growing delays after failed sign-ins, per username and per address. */
      signIn: SignInThrottleSchema.prefault({}),
    })
    .prefault({}),
  registry: z
    .strictObject({
      /** How often leases are checked, ms. Must be small enough that a 1 s ttl expires within a second or two. */
      sweepIntervalMs: z.int().min(20).max(10_000).default(250),
      /** How long a service whose lease expired stays listed as offline before it is deregistered, seconds. */
      offlineGraceSeconds: z.number().min(0).default(900),
      /** How many recent changes are kept for stream resumption (in memory) and in the event log (storage). */
      eventRetention: z.int().min(100).default(10_000),
      /** How often idle watch streams are told the current revision, ms. */
      progressIntervalMs: z.int().min(100).default(10_000),
      /** Heartbeat times are saved to storage in batches this often, ms (they are not changes). */
      heartbeatFlushMs: z.int().min(50).default(1000),
      massExpiry: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Share of leased services allowed to expire within one window before the guard engages. */
          threshold: z.number().min(0).max(1).default(0.15),
          /** Expiries always allowed per window, however small the registry. */
          minCount: z.int().min(0).default(10),
          windowSeconds: z.number().min(1).default(60),
          /** The guard lets go on its own after this long, so it never holds dead services forever (Eureka #1073). */
          maxHoldSeconds: z.number().min(1).default(120),
        })
        .prefault({}),
      /** Pause longer than this between sweeps means the registry itself was away: leases are extended by the gap. */
      stallThresholdMs: z.int().min(100).default(2000),
    })
    .prefault({}),
  vault: z
    .strictObject({
      /** PBKDF2-HMAC-SHA256 iterations for passphrase-derived keys (OWASP: ≥ 600,000). Stored in the vault header. */
      pbkdf2Iterations: z.int().min(10_000).default(600_000),
      /** Versions of each secret kept (older ones are deleted on write). */
      keepVersions: z.int().min(1).max(100).default(5),
      /** A new data-key version is made automatically after this many encryptions (NIST caps random nonces at 2^32). */
      rotateAfterEncryptions: z.int().min(1000).max(2 ** 32 - 1).default(1_000_000_000),
      /** After this many wrong passphrases in a row, each further attempt must wait (doubling, capped at 5 minutes). */
      freeUnlockAttempts: z.int().min(1).default(3),
      /**
       * Where `audit.key` (the audit chain's MAC key) and the development default's `vault.key` are kept (default: the
       * data dir). Instances sharing a database must share `audit.key`: point them all at one directory (a mounted
       * secret or shared volume), or KAI_VAULT_KEY_DIR.
       */
      keyDir: z.string().min(1).optional(),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      /** How the router orders candidates when a request names no strategy. */
      defaultStrategy: z.enum(["priority", "weighted", "least_latency", "least_in_flight", "lowest_cost"]).default("priority"),
      /** One deadline for a whole routed request: every retry, backoff and fallback fits inside it, ms. For streams it ends at the first chunk. */
      deadlineMs: z.int().min(100).max(3_600_000).default(120_000),
      /** Longest wait for one attempt's response (headers, and the body when not streaming), ms; capped by what is left of the deadline. */
      attemptTimeoutMs: z.int().min(100).max(3_600_000).default(60_000),
      /** Longest silence between two stream chunks, ms. */
      streamIdleTimeoutMs: z.int().min(100).max(3_600_000).default(30_000),
      /**
       * Most bytes of one upstream answer held in memory: a whole non-streaming body, or one SSE event / NDJSON line
       * of a stream. A larger answer fails the attempt (`upstream_invalid_response`) instead of exhausting memory.
       */
      maxResponseBytes: z.int().min(64 * 1024).max(1024 ** 3).default(64 * 1024 ** 2),
      /** Extra attempts on the same service (for `retryOn` codes) before moving to the next candidate. */
      retries: z.int().min(0).max(10).default(1),
      /** Codes retried on the same service (after a jittered backoff). Default: the `retry` codes of `ERROR_TABLE`. */
      retryOn: z.array(ErrorCodeSchema).default(() => [...DEFAULT_RETRY_ON]),
      /**
       * Codes after which the next candidate is tried; anything else (e.g. upstream_bad_request) is the answer.
       * Default: the `failover` codes of `ERROR_TABLE` (@kai/protocol).
       */
      failoverOn: z.array(ErrorCodeSchema).default(() => [...DEFAULT_FAILOVER_ON]),
      backoff: z
        .strictObject({
          /** First retry delay, ms (decorrelated jitter around an exponential curve). */
          initialMs: z.int().min(0).max(60_000).default(100),
          maxMs: z.int().min(0).max(300_000).default(2_000),
        })
        .prefault({}),
      breaker: z
        .strictObject({
          /** Consecutive failures (traffic or health checks) that open a service's breaker. */
          failureThreshold: z.int().min(1).max(1000).default(5),
          /** How long a breaker stays open before one probe request is let through, ms; doubles on each failed probe. */
          openMs: z.int().min(10).max(3_600_000).default(10_000),
          /** Longest open period after repeated failed probes, ms. */
          maxOpenMs: z.int().min(10).max(3_600_000).default(120_000),
          /** While a breaker is open, the service's health endpoint is probed this often; a pass lets one request probe at once. 0 = off. */
          probeIntervalMs: z.int().min(0).max(3_600_000).default(5_000),
        })
        .prefault({}),
      /** Cooldown after a 429 without Retry-After, ms (with Retry-After, the service's own figure is used). */
      rateLimitCooldownMs: z.int().min(0).max(3_600_000).default(5_000),
      /** How often each service's model list is fetched again from its provider, ms; 0 = only on registration or change. */
      modelRefreshMs: z.int().min(0).max(86_400_000).default(300_000),
      /** How long a resolved credential is kept in memory before the vault (or env) is read again, ms; 0 = read every time. */
      credentialCacheMs: z.int().min(0).max(3_600_000).default(30_000),
      /** Weight of the newest latency sample in the per-service EWMA (0..1]. */
      latencyEwmaAlpha: z.number().gt(0).max(1).default(0.3),
    })
    .prefault({}),
  watch: z
    .strictObject({
      /** A subscriber with more unsent bytes than this is lagging: its events stop and it gets a new snapshot once drained. */
      maxBufferedBytes: z.int().min(1024).default(4 * 1024 * 1024),
      /** Open `/ws/registry` connections per token. */
      maxSubscribersPerToken: z.int().min(1).default(5000),
      /** Named subscriptions one `/ws/registry` connection may carry (docs/api.md "The change stream"). */
      maxSubscriptionsPerStream: z.int().min(1).max(100_000).default(1000),
    })
    .prefault({}),
  klp: z
    .strictObject({
      /** KLP messages accepted per sender DID per minute (after their signature checked out); more → KLP_RATE_LIMITED. */
      messagesPerMinute: z.int().min(1).max(1_000_000).default(1200),
      /** Open `/klp` WebSocket connections at most; more are refused at once (close code 1013, try again later). */
      maxSockets: z.int().min(1).max(100_000).default(1000),
      /**
       * Who may use semantic memory over KLP (`memory_read`/`memory_write`, docs/protocol/klp.md "Memory"): each grant
       * names a sender (a DID, or a registered agent by id whose record is owned by `owner` and bound to the sender's
       * DID), the owner whose memory it acts on, and the namespaces it may read and write (`write` implies read).
       * A pattern is a namespace or a prefix ending in `*`. No grant: every memory message is KLP_UNAUTHORIZED.
       */
      memoryGrants: z.array(klp.KlpMemoryGrantSchema).max(1000).default([]),
    })
    .prefault({}),
  cache: z
    .strictObject({
      redis: z
        .strictObject({
          /**
           * `redis://[:password@]host:6379[/db]` (or KAI_REDIS_URL). Optional: shared rate-limit counters, the short-TTL
           * service cache and cross-instance event fan-out go through it when set; without it (or while it is down) PostgreSQL does them.
           */
          url: z.string().min(1).optional(),
          /** Lifetime of a cached service record, ms. */
          serviceTtlMs: z.int().min(100).max(600_000).default(5_000),
          /** Key prefix, so several nodes can share one Redis. */
          keyPrefix: z.string().min(1).max(64).default("kai:"),
        })
        .prefault({}),
    })
    .prefault({}),
  cluster: z
    .strictObject({
      /** This instance's name in `GET /api/cluster` (default: host name and process id). */
      instanceName: z.string().min(1).max(200).optional(),
      /** Instances expected to share the database at most: the connection budget checked at start is this × (poolSize + 2). */
      expectedInstances: z.int().min(1).max(1000).default(4),
      /** How often an instance writes its membership row, ms. */
      heartbeatMs: z.int().min(100).max(60_000).default(1_000),
      /** An instance whose membership row is older than this is gone (its jobs are taken over), ms. */
      memberTimeoutMs: z.int().min(500).max(600_000).default(5_000),
      /** How often changes are read from the database even without a notification (a missed NOTIFY costs at most this), ms. */
      pollIntervalMs: z.int().min(50).max(60_000).default(2_000),
    })
    .prefault({}),
  federation: z
    .strictObject({
      /**
       * Who may pull this node's public records over KLP (`state_sync`): `anyone` who proves a key (they are
       * public, and /klp/discover serves them to anyone anyway), only this node's trusted `peers`, or `none`.
       */
      exportTo: z.enum(["anyone", "peers", "none"]).default("anyone"),
      /** How often each peer is asked for changes, in addition to its pushes (catches anything a push missed), ms. */
      pullIntervalMs: z.int().min(100).max(3_600_000).default(30_000),
      /** How often each peer is asked for a full snapshot (re-signed with a fresh expiry; drops what it stopped exporting), ms. */
      refreshIntervalMs: z.int().min(1000).max(86_400_000).default(1_200_000),
      /** How long an exported record stays valid at a peer unless refreshed, seconds (the drafts' 3600). */
      recordTtlSeconds: z.int().min(10).max(604_800).default(3600),
      /** How often expired imported records are dropped, ms. */
      sweepIntervalMs: z.int().min(100).max(3_600_000).default(10_000),
      /**
       * TLS of this node's own connections to peers (KLP over HTTPS and WSS; klp/peer-tls.ts): the client certificate
       * it presents to a peer that asks for one (mTLS: that peer's `server.tls.clientCertificates`), and `caFile`, a CA
       * that signs peers' server certificates, trusted beside the system's roots. Absent: `server.tls`'s pair and
       * `caFile` serve for this too (one CA for a mesh of nodes, each certificate made for serverAuth and clientAuth).
       * Given: its `caFile` alone is the peers' CA (none: the system's roots only; `server.tls.caFile` is not trusted
       * for peers then), and the pair is its own, else `server.tls`'s unless `presentCertificate: false`. So `{}` and
       * `{caFile}` present `server.tls`'s pair (they once presented none). The files are read again when they change.
       */
      tls: z
        .strictObject({
          certFile: z.string().min(1).optional(),
          keyFile: z.string().min(1).optional(),
          caFile: z.string().min(1).optional(),
          presentCertificate: z.boolean().optional(),
        })
        .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), { message: "federation.tls needs certFile and keyFile together", path: ["keyFile"] })
        .refine((tls) => !(tls.presentCertificate === false && tls.certFile !== undefined), {
          message: "federation.tls.presentCertificate: false presents no client certificate: drop certFile and keyFile, or presentCertificate",
          path: ["presentCertificate"],
        })
        .optional(),
      /**
       * LAN discovery by mDNS/DNS-SD (`_kai._tcp`, the DID in the TXT record; federation/lan-discovery.ts). Off by
       * default: an announcement tells the whole segment a node runs here. Discovered nodes are only listed
       * (`kai peer discover`); adding one pins its DID like `kai peer add`.
       */
      mdns: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** Announce this node (false: only listen for others). */
          advertise: z.boolean().default(true),
          /** The instance name announced; default `kai-<key id>`. */
          name: z.string().min(1).max(63).optional(),
        })
        .prefault({}),
    })
    .refine((f) => f.refreshIntervalMs < f.recordTtlSeconds * 1000, {
      message: "refreshIntervalMs must be shorter than recordTtlSeconds, or imported records expire between refreshes",
      path: ["refreshIntervalMs"],
    })
    .prefault({}),
  agents: z
    .strictObject({
      /** kPlanner (issue 16): asks a language model through this node's gateway for a plan. */
      planner: z
        .strictObject({
          /** The model asked (a `<serviceId>/<model>` entry or a plain model name); absent: the first llm_chat model the caller may use. */
          model: z.string().min(1).max(200).optional(),
          /** Answers asked for at most, re-asking with the problems of the last invalid one, before 422 plan_invalid. */
          attempts: z.int().min(1).max(10).default(3),
          /** Low by default: a plan should be the same plan when asked twice. */
          temperature: z.number().min(0).max(2).default(0.2),
        })
        .prefault({}),
      /** kCore (issue 16, docs/agents/tasks.md): how tasks' steps run. */
      tasks: z
        .strictObject({
          /** A step's timeout when neither the step (`timeoutMs`) nor its agent (`limits.stepTimeoutMs`) gives one, ms. */
          stepTimeoutMs: z.int().min(100).max(86_400_000).default(60_000),
        })
        .prefault({}),
      /** External A2A agents (issue 16, docs/agents/a2a.md): how often their agent cards are read again, ms. */
      a2a: z
        .strictObject({
          cardRefreshMs: z.int().min(1000).max(86_400_000).default(300_000),
          /** Push notifications of the node's own A2A endpoint (docs/agents/a2a.md "Push notifications"). */
          push: z
            .strictObject({
              /** Receivers on loopback, private, link-local… addresses are refused (SSRF) unless this is true (tests, a closed network). */
              allowPrivate: z.boolean().default(false),
              /** POSTs per event at most (the first and its retries) before the event is passed over for that receiver. */
              attempts: z.int().min(1).max(20).default(5),
              /** The first retry's delay, doubled each time (jittered, capped at 60 s), ms. */
              backoffMs: z.int().min(10).max(60_000).default(1000),
              /** One POST's timeout, ms. */
              timeoutMs: z.int().min(100).max(60_000).default(5000),
            })
            .prefault({}),
        })
        .prefault({}),
      /** Agents the node runs itself as child processes (issue 16, docs/agents/runtime.md); env values name vault secrets. */
      run: z.array(RunAgentSpecSchema).max(64).default([]).refine((list) => new Set(list.map((agent) => agent.id)).size === list.length, { message: "each run-agent id once" }),
    })
    .prefault({}),
  /** The orchestration bus (issue 16, docs/agents/bus.md): what carries events between this node's instances. */
  bus: z
    .strictObject({
      /** `memory`: one instance (the default); `redis`: pub/sub on `cache.redis.url`; `nats`: a NATS server at `bus.nats.url`. */
      kind: z.enum(["memory", "redis", "nats"]).default("memory"),
      nats: z
        .strictObject({
          /** `nats://host:4222`. */
          url: z.string().min(1).optional(),
          /** The subject every instance publishes and subscribes to; nodes sharing one NATS server need different ones. */
          subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).default("kai.bus"),
        })
        .prefault({}),
      /** Events a live subscriber (SSE, WebSocket) may have waiting at most; past it, it is told it was dropped and closed. */
      maxQueuedEvents: z.int().min(16).max(100_000).default(1000),
      /** Event streams (SSE and WebSocket) one token may hold open at once; more are refused (429 / close 1008). */
      maxStreamsPerToken: z.int().min(1).max(100_000).default(100),
      /** How often the leader publishes a SYSTEM_STATUS summary and looks at membership and peer links, ms. */
      statusIntervalMs: z.int().min(1000).max(3_600_000).default(30_000),
    })
    .prefault({}),
  /** Artifact storage (issue 17, docs/data/artifacts.md): uploaded files, stored once per content. */
  artifacts: z
    .strictObject({
      /** Largest upload, bytes (413 `artifact_too_large` the moment an upload passes it). Default 1 GiB. */
      maxBytes: z.int().min(1).max(1024 ** 4).default(1024 ** 3),
      /** Where the filesystem blob store keeps the bytes (default `<dataDir>/artifacts`). */
      path: z.string().min(1).optional(),
      /** Which blob store keeps the bytes: `filesystem` (under `path`) or `s3` (any S3-compatible object store, `s3`). */
      store: z.enum(["filesystem", "s3"]).default("filesystem"),
      /** The S3-compatible object store (`store: s3`; docs/data/artifacts.md). */
      s3: z
        .strictObject({
          ...s3ConnectionShape("kai/"),
          /** Multipart part size, bytes (S3's minimum 5 MiB); up to `(queueSize + 1)` parts are in memory per upload. */
          partSizeBytes: z.int().min(5 * 1024 ** 2).max(512 * 1024 ** 2).default(8 * 1024 ** 2),
          /** Parts of one upload sent at once. */
          queueSize: z.int().min(1).max(16).default(2),
        })
        .prefault({}),
      /** Encryption at rest of new blobs, under a key kept in the vault (docs/data/artifacts.md, "Encryption"). */
      encryption: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** The vault secret holding the key (32 random bytes, base64); absent: `#system/artifacts-key`, made at first use. */
          keySecret: z.string().min(1).max(200).optional(),
        })
        .prefault({}),
      /** Garbage collection of the blob store (docs/data/artifacts.md, "Garbage collection"): a singleton job. */
      gc: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Minutes between sweeps. */
          intervalMinutes: z.int().min(1).max(10_080).default(60),
          /** Nothing younger than this is removed (an upload commits its blob before its artifact is recorded), hours. */
          graceHours: z.number().min(1).max(8760).default(24),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Semantic memory (issue 17, docs/data/memory.md): texts embedded through the node's gateway and searched by meaning. */
  memory: z
    .strictObject({
      /** The embedding model (`<serviceId>/<model>` or a plain name); absent: the first embedding model the caller may use. */
      model: z.string().min(1).max(200).optional(),
      /** Vectors in one namespace from which the embedded index searches an HNSW graph (below: exact search). */
      hnswFrom: z.int().min(1).max(100_000_000).default(10_000),
      /** HNSW graph degree (usearch `connectivity`). */
      hnswConnectivity: z.int().min(4).max(128).default(16),
      /** HNSW candidates kept while searching (usearch `expansion_search`): recall against speed. */
      hnswExpansionSearch: z.int().min(16).max(4096).default(128),
      /** How often expired memories are deleted (besides never being returned once expired), ms. */
      sweepIntervalMs: z.int().min(100).max(86_400_000).default(60_000),
      /** The embedded index's HNSW graphs saved under `<dataDir>/memory-index/` (docs/data/memory.md "Restarts"). */
      index: z
        .strictObject({
          /** Saved after changes and on stop, taken at start when they still match the rows (else rebuilt); false: always rebuilt. */
          persist: z.boolean().default(true),
          /** A change is saved at most this long after it, ms. */
          saveDelayMs: z.int().min(100).max(3_600_000).default(30_000),
          /** `embedded`: in this process, rebuilt from the rows at start; `pgvector`: in PostgreSQL with pgvector ≥ 0.8, shared by the instances and kept across restarts; `connector`: a registered Qdrant or Chroma service. */
          kind: z.enum(["embedded", "pgvector", "connector"]).default("embedded"),
          pgvector: z
            .strictObject({
              /** The PostgreSQL with the `vector` extension; default `storage.postgres.url` (required when storage.kind is not postgres). */
              url: z.string().min(1).optional(),
              /** Connections of the index's own pool. */
              poolSize: z.int().min(1).max(100).default(4),
              /** `hnsw.ef_search`: candidates of an HNSW scan's first round (recall against speed; at least the search's limit). */
              efSearch: z.int().min(1).max(1000).default(100),
              /** `hnsw.max_scan_tuples`: tuples an iterative HNSW scan visits before a filtered search finishes with an exact scan. */
              maxScanTuples: z.int().min(1).max(100_000_000).default(20_000),
            })
            .prefault({}),
          connector: z
            .strictObject({
              /** The registry id of the Qdrant or Chroma service that holds the vectors (its record's url, provider and auth are used). */
              service: z.string().min(1).max(200).optional(),
              /** Only a record of this owner is used (recommended where others may register services). */
              owner: z.string().min(1).max(200).optional(),
              /** Start of every collection name the index makes; a hash of each partition follows (memory/connector-index.ts). */
              collectionPrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/).default("kai-memory-"),
              /** Longest wait for one call to the store, ms. */
              timeoutMs: z.int().min(100).max(600_000).default(10_000),
              /** The service's record is read again after this long (a changed URL, key or status takes effect), ms. */
              recordCacheMs: z.int().min(0).max(3_600_000).default(5_000),
              /** How often a store that is down is tried again (queued writes replayed), ms. */
              probeIntervalMs: z.int().min(50).max(600_000).default(2_000),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Plugins (issue 18, docs/plugins.md): folders with a plugin.yaml under `<dataDir>/plugins` and these paths. */
  plugins: z
    .strictObject({
      /** False: no folder is read (GET /api/plugins lists nothing). */
      enabled: z.boolean().default(true),
      /** More folders whose sub-folders are plugins (each `<path>/<plugin>/plugin.yaml`); relative to the working directory. */
      paths: z.array(z.string().min(1).max(4096)).max(64).default([]),
      /** Keys (KLP DIDs, `kind:did:…#ed25519`) whose signature makes a plugin `trusted`. */
      trustedKeys: z.array(klp.DidSchema).max(256).default([]),
      /** True: the keys of this node's trusted federation peers (the KLP trust list) also make a plugin `trusted`. */
      trustPeers: z.boolean().default(false),
      /** Versions kept per plugin under `<dataDir>/plugins/.history/<id>/` after a replace, update, rollback or remove (newest first). */
      historyLimit: z.int().min(0).max(100).default(5),
      /** The largest plugin package (.tar.gz) `POST /api/plugins/install` and an update download accept, in bytes. */
      maxPackageBytes: z.int().min(1024).max(1024 * 1024 * 1024).default(50 * 1024 * 1024),
      /**
       * False (default): an unverified plugin is not started when a protection it relies on is missing on this machine
       * (prlimit's limits, bubblewrap's file boundary, an unprivileged network namespace); true: it runs without (docs/security.md "Plugins").
       */
      allowWeakIsolation: z.boolean().default(false),
      /**
       * How a plugin whose process ended on its own (crash, hang, limit, flood) is restarted: after `initialDelayMs`,
       * doubling up to `maxDelayMs`; `crashLoopCount` ends within `crashLoopWindowMs` stop it until it is enabled again.
       */
      restart: z
        .strictObject({
          initialDelayMs: z.int().min(10).max(600_000).default(500),
          maxDelayMs: z.int().min(10).max(3_600_000).default(30_000),
          crashLoopCount: z.int().min(1).max(100).default(5),
          crashLoopWindowMs: z.int().min(1000).max(86_400_000).default(60_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Distributed tracing (issue 19, docs/operations/tracing.md): OpenTelemetry spans, W3C `traceparent`, OTLP/HTTP export. */
  tracing: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** OTLP/HTTP traces URL (e.g. http://collector:4318/v1/traces); absent: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else nothing is exported. */
      otlpEndpoint: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).max(2048).optional(),
      /** The share of new traces recorded (0..1); a caller's sampled flag is followed (parent-based). */
      sampleRatio: z.number().min(0).max(1).default(1),
      /** `service.name` of this node's spans. */
      serviceName: z.string().min(1).max(128).default("kai"),
      /**
       * Where a trace is shown (Jaeger, Tempo, …): a URL with `{traceId}` for the trace's id, such as
       * `https://jaeger.example/trace/{traceId}`. The Console links log lines to it; `kai logs tail --trace` prints it.
       */
      traceUrl: z
        .string()
        .max(2048)
        .refine((template) => template.includes("{traceId}"), "must contain {traceId}, where the trace's id goes")
        .refine((template) => traceLink(template, "4bf92f3577b34da6a3ce929d0e0e4736") !== undefined, "must be an http or https URL once {traceId} is filled in")
        .optional(),
    })
    .prefault({}),
  /** Backups (issue 19, docs/operations/backup.md): `kai backup`, /api/backups and scheduled backups. */
  backup: z
    .strictObject({
      /** Where backups are written and listed; absent: `<dataDir>/backups`. */
      dir: z.string().min(1).max(4096).optional(),
      /** The passphrase scheduled backups (and API calls that give none) are encrypted with; use `@env:NAME`. */
      passphrase: z.string().min(MIN_BACKUP_PASSPHRASE_LENGTH).max(1024).optional(),
      /** Or: the name of a vault secret whose value is that passphrase (read when needed; the vault must be unlocked). */
      passphraseSecret: z.string().min(1).max(256).optional(),
      /** How often the node takes a backup itself (a duration: `6h`, `1d`), or `off`. Needs `passphrase`. */
      schedule: z.union([z.literal("off"), DurationSchema]).default("off"),
      /** How many backups the schedule keeps in `dir` (the oldest beyond are deleted after each scheduled backup). */
      retain: z.int().min(1).max(10_000).default(7),
      /** Scheduled backups also carry the artifacts' bytes. */
      withArtifacts: z.boolean().default(false),
      /** PBKDF2-SHA256 iterations of the key a passphrase gives (as the vault's `pbkdf2Iterations`). */
      kdfIterations: z.int().min(10_000).max(MAX_BACKUP_KDF_ITERATIONS).default(600_000),
      /**
       * Offsite copies (docs/operations/backup.md): with `store: s3`, every backup this node takes is also copied to the
       * bucket, `retain` applies there too, and a backup kept only there is listed, verified and downloaded through the
       * node (fetched back into `dir` first): a node whose disk is lost restores from it.
       */
      offsite: z
        .strictObject({
          store: z.enum(["off", "s3"]).default("off"),
          s3: z.strictObject(s3ConnectionShape("kai-backups/")).prefault({}),
        })
        .refine((o) => o.store !== "s3" || o.s3.bucket !== undefined, { message: "backup.offsite.store s3 needs backup.offsite.s3.bucket", path: ["s3", "bucket"] })
        .refine((o) => (o.s3.accessKeyId === undefined) === (o.s3.secretAccessKey === undefined), {
          message: "backup.offsite.s3 needs both accessKeyId and secretAccessKey, or neither",
          path: ["s3", "secretAccessKey"],
        })
        .prefault({}),
    })
    .refine((b) => b.schedule === "off" || b.passphrase !== undefined || b.passphraseSecret !== undefined, { message: "backup.schedule needs backup.passphrase or backup.passphraseSecret", path: ["passphrase"] })
    .refine((b) => b.passphrase === undefined || b.passphraseSecret === undefined, { message: "give backup.passphrase or backup.passphraseSecret, not both", path: ["passphraseSecret"] })
    .prefault({}),
}).refine((c) => c.storage.kind !== "postgres" || c.storage.postgres.url !== undefined, {
  message: "storage.kind postgres needs storage.postgres.url (or KAI_DATABASE_URL)",
  path: ["storage", "postgres", "url"],
}).refine((c) => c.memory.index.kind !== "pgvector" || c.memory.index.pgvector.url !== undefined || c.storage.kind === "postgres", {
  message: "memory.index.kind pgvector needs memory.index.pgvector.url (or storage.kind postgres, whose URL it then uses)",
  path: ["memory", "index", "pgvector", "url"],
}).refine((c) => c.memory.index.kind !== "connector" || c.memory.index.connector.service !== undefined, {
  message: "memory.index.kind connector needs memory.index.connector.service (the id of a registered Qdrant or Chroma service)",
  path: ["memory", "index", "connector", "service"],
}).refine((c) => c.bus.kind !== "redis" || c.cache.redis.url !== undefined, {
  message: "bus.kind redis needs cache.redis.url (or KAI_REDIS_URL)",
  path: ["bus", "kind"],
}).refine((c) => c.bus.kind !== "nats" || c.bus.nats.url !== undefined, {
  message: "bus.kind nats needs bus.nats.url",
  path: ["bus", "nats", "url"],
}).refine((c) => c.artifacts.store !== "s3" || c.artifacts.s3.bucket !== undefined, {
  message: "artifacts.store s3 needs artifacts.s3.bucket",
  path: ["artifacts", "s3", "bucket"],
}).refine((c) => (c.artifacts.s3.accessKeyId === undefined) === (c.artifacts.s3.secretAccessKey === undefined), {
  message: "artifacts.s3 needs both accessKeyId and secretAccessKey, or neither",
  path: ["artifacts", "s3", "secretAccessKey"],
}).refine((c) => c.artifacts.store !== "s3" || c.artifacts.maxBytes <= 5 * 1024 ** 3, {
  // S3's CopyObject (how a staged upload becomes its blob) takes at most 5 GiB.
  message: "artifacts.store s3 takes artifacts.maxBytes up to 5 GiB (5368709120)",
  path: ["artifacts", "maxBytes"],
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
