/**
 * @module server
 * The composition root: configuration → logger → storage → vault → identity and tokens → registry (leases,
 * change feed) → KLP and federation → directory (listing, watch) → gateway router → health checks → HTTP app
 * → listen. Every part gets what it needs in its constructor, in that order; the one cycle (KLP ↔ federation)
 * is broken by a late-bound port (see `KlpNodeOptions.federation`). `close()` undoes it in reverse: streams
 * told to go away, in-flight requests finished, timers stopped, heartbeats saved, storage closed.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DestinationStream } from "pino";
import type { NodeStatus } from "./http/routes/status.js";
import { agentConfigDirOf, loadConfigLayers, mergeSettings, readConfigLayers, type ConfigSources, type DeepPartial } from "./config/load-config.js";
import { AGENT_KEYS } from "./config/layers/agent-layers.js";
import { layerFiles, watchConfigFiles } from "./config/layers/watch-files.js";
import { RuntimeLayerSync, SYNCED_BY } from "./config/layers/runtime-layer-sync.js";
import { LayeredConfig } from "./config/layers/layered-config.js";
import { setLogLevel, stopTrackingChildren } from "./logging/log-level.js";
import type { Config, ConfigInput } from "./config/config-schema.js";
import { createLogger, logTailOf, type Logger } from "./logging/logger.js";
import { openStore, type OpenStoreOptions } from "./storage/index.js";
import type { StoredChange } from "./storage/contracts/storage-backend.js";
import { createVault } from "./vault/vault-service.js";
import { bootstrapVault } from "./vault/vault-bootstrap.js";
import { openNodeKey, openSharedNodeKey, type NodeKey } from "./identity/node-key.js";
import { TokenService } from "./auth/token-service.js";
import { ensureAdminToken } from "./auth/admin-token.js";
import { viewerOf, type Principal } from "./auth/principal.js";
import { LeaseTable } from "./registry/lease-table.js";
import { RegistryService } from "./registry/registry-service.js";
import { LeaseMonitor } from "./registry/lease-monitor.js";
import { HealthChecker } from "./registry/health-checker.js";
import { HealthVerdicts } from "./registry/health-verdicts.js";
import { loadOrCreateEpoch } from "./registry/registry-epoch.js";
import { createApp } from "./http/app.js";
import { tlsEnabled, watchTlsFiles } from "./http/tls-server.js";
import { openAgentMesh, type AgentMesh } from "./agents/open-agent-mesh.js";
import { openArtifacts } from "./artifacts/open-artifacts.js";
import { openMemory } from "./memory/open-memory.js";
import { shareMemoryChanges } from "./memory/memory-signals.js";
import { openPlugins } from "./plugins/open-plugins.js";
import { PluginBus } from "./plugins/runtime/plugin-bus.js";
import { PluginRuntime } from "./plugins/runtime/plugin-runtime.js";
import { restartPolicyOf } from "./plugins/runtime/plugin-supervisor.js";
import { openPluginInstaller } from "./plugins/install/open-plugin-installer.js";
import { PromptService } from "./prompts/prompt-service.js";
import { createRunTokens } from "./agents/runtime/run-token.js";
import { openSystemPublishers, type SystemPublishers } from "./bus/publishers/open-system-publishers.js";
import { NodeMetrics } from "./metrics/metrics.js";
import { gatewayMetricsObserver } from "./metrics/gateway-observer.js";
import { applyLiveRouting, CapabilityRouter, LIVE_ROUTING_KEYS, routerOptionsFromConfig } from "./gateway/router/index.js";
import { routerPort } from "./http/front-doors/router-port.js";
import { VERSION } from "./version.js";
import { startTracing } from "./tracing/node-tracing.js";
import { KlpNode, type KlpFederationPort } from "./klp/klp-node.js";
import { KlpMemoryHandlers } from "./klp/memory-handlers.js";
import { KlpMemoryGrants } from "./klp/memory-grants.js";
import { checkPeerTlsFiles, PeerTls, peerTlsFiles } from "./klp/peer-tls.js";
import { readTlsFiles } from "./config/configured-file.js";
import { nodeKeySource } from "./identity/node-identity.js";
import { FederationService } from "./federation/federation-service.js";
import { startLanDiscovery, type LanDiscovery } from "./federation/lan-discovery.js";
import { ServiceListing } from "./directory/service-listing.js";
import { DirectoryWatch } from "./directory/directory-watch.js";
import { registerFederationMetrics } from "./federation/federation-metrics.js";
import { registerClusterMetrics } from "./cluster/cluster-metrics.js";
import { registerVaultMetrics } from "./vault/vault-metrics.js";
import { TlsCertificates } from "./http/tls-certificates.js";
import { registerTlsMetrics } from "./http/tls-metrics.js";
import { registerBackupMetrics } from "./backup/backup-metrics.js";
import { registerSecurityMetrics } from "./auth/security-metrics.js";
import { clusterCoordination } from "./federation/coordination.js";
import { openCluster } from "./cluster/open-cluster.js";
import { SingletonJobs } from "./cluster/singleton-jobs.js";
import { openBackups } from "./backup/index.js";
import { runDoctor } from "./doctor/node-doctor.js";
import { ClusterDoctorRelay } from "./doctor/cluster-doctor-relay.js";
import { searchLogFiles } from "./logging/log-search.js";
import { signInPruningJob } from "./auth/sign-in-pruning.js";
import { shareClusterSignals } from "./cluster/share-signals.js";
import { ClusterLogRelay } from "./logging/cluster-log-relay.js";
import { forgetCredentialsOnVaultChanges } from "./gateway/router/credential-freshness.js";
import { ClusterReport } from "./cluster/cluster-report.js";
import { openRateLimits } from "./cluster/open-rate-limits.js";
import { openRedisExtras } from "./cluster/redis/redis-extras.js";
import { withServiceCache } from "./cluster/redis/redis-service-cache.js";
// Sign-in (issue 14).
import { hkdfSync } from "node:crypto";
import { RoleCatalog } from "./auth/roles.js";
import { AccessTable } from "./auth/users/access-table.js";
import { SecurityLog } from "./auth/security-log.js";
import { PasswordHasher } from "./auth/passwords.js";
import { SessionService } from "./auth/sessions/session-service.js";
import { UserService } from "./auth/users/user-service.js";
import { FirstAdmin, removeFirstAdminFile } from "./auth/users/first-admin.js";
import { SignInService } from "./auth/sign-in/sign-in-service.js";
import { CountingLoginThrottle } from "./auth/throttle/login-throttle.js";
import { AgentSignInService } from "./auth/agents/agent-sign-in.js";
import { SsoService } from "./auth/sso/sso-service.js";
import { createMfa } from "./auth/mfa/create-mfa.js";
import type { SecondFactors } from "./auth/sign-in-ports.js";
import { ApiError } from "./errors.js";
import { hasWebBuild, resolveWebRoot } from "./http/web-app.js";
import { waitAtMost } from "./wait-at-most.js";

export interface StartServerOptions {
  dataDir?: string;
  port?: number;
  host?: string;
  /** YAML config file (otherwise KAI_CONFIG, if set). */
  configFile?: string;
  /** Settings that win over the file and the environment. */
  config?: DeepPartial<ConfigInput>;
  /** No logs on stdout (tests, embedding); the log file is still written. */
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Extra log destination (tests read log lines from it). */
  logDestination?: DestinationStream;
}

export interface RunningServer {
  url: string;
  port: number;
  adminToken: string;
  adminTokenPath: string;
  /** True when this start created the admin token (first start, or the file was missing). */
  adminTokenCreated: boolean;
  config: Config;
  logger: Logger;
  /** The node's KLP endpoint (identity, documents, sessions to other nodes). */
  klp: KlpNode;
  federation: FederationService;
  /** The node key (its private half only while the vault holds it unlocked); tests sign with it. */
  nodeKey: NodeKey;
  /** Where the first admin's one-time password was written at this start (null when no first admin was created here). */
  firstAdminPasswordPath: string | null;
  /** Whether the web app is served at `/` (enabled, and its build found). */
  webApp: boolean;
  /** The agent mesh: bus, agents, kPlanner, kCore (issue 16). */
  mesh: AgentMesh;
  /** The node's own publishers on the bus (bus/publishers/): system status, heartbeats, configuration updates. */
  publishers: SystemPublishers;
  close(): Promise<void>;
}

/**
 * Reads and checks every TLS file the settings name (the node's own and those it shows peers), throwing a `ConfigError`
 * that names the setting and the file. Before anything else, though they are read again where they are used: a start
 * refused for a key that is not the certificate's (or an expired certificate) used to leave a new data directory
 * behind it (vault key, database, admin token, sealed node key), made for a node that never ran.
 */
function checkTlsFiles(config: Config): void {
  if (tlsEnabled(config.server.tls)) readTlsFiles("server.tls", config.server.tls);
  const peerFiles = peerTlsFiles(config);
  if (peerFiles) checkPeerTlsFiles(peerFiles);
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const explicit: Record<string, unknown> = {
    dataDir: options.dataDir,
    server: { port: options.port, host: options.host },
    ...(options.quiet ? { logging: { stdout: false } } : {}),
  };
  // The configuration's layers (config/layers/): files, environment and flags; the runtime layer comes from PATCH /api/config.
  const configSources: ConfigSources = {
    ...(options.configFile !== undefined ? { configFile: options.configFile } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    overrides: mergeSettings(options.config ?? {}, explicit) as DeepPartial<ConfigInput>,
  };
  const { config, layers: configLayers } = loadConfigLayers(configSources);
  checkTlsFiles(config);
  config.dataDir = resolve(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const { logger, securityLogger, flush, failingFiles: failingLogFiles } = createLogger({ config, ...(options.logDestination ? { extraDestination: options.logDestination } : {}) });
  const store = await openStore(storageOptions(config, logger));
  // Torn down in reverse if the start fails half-way.
  const undo: Array<() => Promise<unknown>> = [() => store.close()];
  try {
    // One process, or one instance of several on a shared database: the same parts either way (cluster/open-cluster.ts).
    const { cluster, feed, tailer, signalReader } = await openCluster({ config, store, logger, version: VERSION });
    const shared = tailer !== null;
    await cluster.start();
    undo.unshift(() => cluster.close());
    if (tailer) {
      await tailer.start();
      undo.unshift(() => tailer.stop());
    }
    // Rate limits every instance counts in one place (PostgreSQL, or Redis with PostgreSQL standing in): N instances never allow N × a limit.
    const limits = await openRateLimits({ config, store, cluster, logger });
    undo.unshift(() => limits.close());
    // With Redis: instances wake each other on commits, and KLP's reads go through the short-TTL service cache.
    const redisExtras = await openRedisExtras({ redis: limits.redis, tailer, signalReader, cluster, feed, store, config, logger });
    undo.unshift(() => redisExtras.close());
    // The vault first: the node key's private half is sealed in it (identity/node-key.ts).
    const keyDir = config.vault.keyDir ? resolve(config.vault.keyDir) : undefined;
    if (keyDir) mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    const vault = await createVault({ store: store.vaultStore(), dataDir: config.dataDir, ...(keyDir ? { keyDir } : {}), config: config.vault, logger, securityLogger });
    const env = options.env ?? process.env;
    await bootstrapVault(vault, { ...(env.KAI_VAULT_PASSPHRASE ? { passphrase: env.KAI_VAULT_PASSPHRASE } : {}), logger });
    const key = shared ? await openSharedNodeKey(store, vault, logger, config.dataDir) : await openNodeKey(config.dataDir, vault, logger);
    if (!key.available) logger.warn("the node key is sealed in the locked vault: no token can be minted and KLP is off until `kai vault unlock`");
    // Tracing (issue 19, tracing/node-tracing.ts): the SDK is loaded only when `tracing.enabled`.
    const tracing = await startTracing({ settings: config.tracing, instanceId: key.keyId, version: VERSION, env, logger });
    if (tracing) undo.unshift(() => tracing.close());
    // Users, roles and live sessions as every request checks them (issue 14): in memory, kept fresh by the services
    // that change them and, across instances, by the user_changed / session_revoked signals.
    const identity = store.identityStore();
    const roles = new RoleCatalog(identity);
    await roles.load();
    const access = new AccessTable(identity, roles, shared ? (topic, payload) => cluster.signals.publish(topic, payload) : undefined);
    await access.loadAll();
    const tokens = await TokenService.create({
      store,
      key,
      issuer: `kai:${key.keyId}`,
      defaultTtlSeconds: config.auth.defaultTokenTtlSeconds,
      maxTtlSeconds: config.auth.maxTokenTtlSeconds,
      ...(shared ? { onRevoked: (id: string) => cluster.signals.publish("token_revoked", { tokenId: id }) } : {}),
      gate: access,
    });
    const admin = await ensureAdminToken(config.dataDir, tokens, shared ? cluster.instanceName : undefined);
    if (!admin.token) logger.warn("no admin token could be minted: the vault is locked (the node key is sealed in it); unlock it with a token minted earlier");

    const leases = new LeaseTable();
    leases.restore(await store.listLeases(), Date.now());
    // Changes other instances commit reach this lease table through the feed, like this instance's own.
    if (shared) feed.subscribe(({ event }) => leases.follow(event.service, event.event === "deregistered", Date.now()));
    // Health verdicts first: the health checker writes them, the registry and the directory read them.
    const verdicts = new HealthVerdicts();
    const registry = new RegistryService({ store, feed, leases, vault, health: verdicts, ...(tailer ? { awaitPublished: (change: StoredChange) => {
      redisExtras.wakeOthers();
      return tailer.committed(change);
    } } : {}) });
    // Reads answering other nodes may lag by the cache's TTL; the registry's own reads never do.
    const peerReads = redisExtras.serviceCache ? new RegistryService({ store: withServiceCache(store, redisExtras.serviceCache), feed, leases, vault, health: verdicts }) : registry;
    // Lease sweeps are a singleton job: only the instance holding the jobs expires leases.
    let sweeping = !shared;
    const monitor = new LeaseMonitor(
      { leases, registry, store, logger },
      {
        sweepIntervalMs: config.registry.sweepIntervalMs,
        heartbeatFlushMs: config.registry.heartbeatFlushMs,
        offlineGraceMs: config.registry.offlineGraceSeconds * 1000,
        stallThresholdMs: config.registry.stallThresholdMs,
        guard: {
          enabled: config.registry.massExpiry.enabled,
          threshold: config.registry.massExpiry.threshold,
          minCount: config.registry.massExpiry.minCount,
          windowMs: config.registry.massExpiry.windowSeconds * 1000,
          maxHoldMs: config.registry.massExpiry.maxHoldSeconds * 1000,
        },
        // Other instances' heartbeats reach the database in batches (heartbeatFlushMs): a lease is overdue only past that.
        ...(shared ? { cluster: { isLeader: () => sweeping, clusterGraceMs: 2 * config.registry.heartbeatFlushMs + config.cluster.pollIntervalMs } } : {}),
      },
    );
    const epoch = await loadOrCreateEpoch(store);
    // KLP identity = the node key; see identity/node-identity.ts. Federation opens its peer sessions through
    // the node and the node answers peers through federation: the node reads it late-bound (see KlpNodeOptions).
    const late: { federation?: KlpFederationPort; memory?: KlpMemoryHandlers; plugins?: PluginRuntime } = {};
    // The node's side of TLS towards other nodes (its client certificate, their CA): read now, so that a file that
    // cannot be read stops the start with its name, as the server's own certificate does.
    const peerFiles = peerTlsFiles(config);
    // What TLS files this instance uses and whether their last change loaded: for the status and the metrics.
    const tlsCertificates = new TlsCertificates();
    const peerTls = peerFiles ? new PeerTls(peerFiles, logger, tlsCertificates) : undefined;
    if (peerTls) undo.unshift(async () => peerTls.close());
    const klpNode = new KlpNode({
      key: nodeKeySource(key),
      registry,
      logger,
      name: `kai node ${key.keyId}`,
      version: VERSION,
      messagesPerMinute: config.klp.messagesPerMinute,
      peerReads,
      limits: limits.limits,
      federation: () => late.federation,
      memory: () => late.memory,
      ...(tracing ? { tracing } : {}),
      ...(peerTls ? { peerTls } : {}),
    });
    const federation = await FederationService.start({
      store: store.federationStore(),
      registryStore: store,
      feed,
      did: klpNode.did,
      identity: () => klpNode.identity,
      epoch,
      settings: config.federation,
      logger,
      connect: (url, did) => klpNode.connect(url, "ws", did),
      readNodeDocument: (url) => klpNode.readNodeDocument(url),
      // In a cluster the leader runs the peer links (a singleton job below); every instance answers peers.
      ...(shared ? { coordination: clusterCoordination(cluster.signals) } : {}),
    });
    late.federation = federation;
    // Links that failed while the node key was sealed reconnect as soon as it is back.
    key.onChange((available) => {
      if (available) federation.reconnectAll().catch((error: unknown) => logger.warn({ err: error }, "federation links could not restart"));
    });

    // The directory: local and imported records, listed and watched.
    const streams = new DirectoryWatch({
      feed,
      registry,
      logger,
      imported: federation.directory,
      health: verdicts,
      epoch,
      maxBufferedBytes: config.watch.maxBufferedBytes,
      maxSubscribersPerToken: config.watch.maxSubscribersPerToken,
      maxSubscriptionsPerStream: config.watch.maxSubscriptionsPerStream,
      progressIntervalMs: config.registry.progressIntervalMs,
      ...(tailer ? { catchUp: async (revision: number) => void (await waitAtMost(tailer.waitFor(revision), 2000)) } : {}),
    });
    const listing = new ServiceListing({ registry, nodeDid: klpNode.did, imported: federation.directory, currentRevision: () => feed.revision });
    const startedAt = new Date();
    const getStatus = async (principal: Principal): Promise<NodeStatus> => {
      const byStatus = await store.countServices(viewerOf(principal));
      const guard = monitor.guardState;
      const tls = tlsCertificates.status();
      return {
        node: {
          version: VERSION,
          startedAt: startedAt.toISOString(),
          uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
          storage: store.description,
          ...(tls ? { tls } : {}),
        },
        registry: {
          services: Object.values(byStatus).reduce((sum, n) => sum + n, 0),
          byStatus,
          revision: feed.revision,
          expiryGuard: { engaged: guard.engaged, since: guard.since ? new Date(guard.since).toISOString() : null, heldBack: guard.heldBack, reason: guard.reason },
          watchers: streams.size,
        },
        caller: { owner: principal.owner, scopes: [...principal.scopes] },
      };
    };

    const metrics = new NodeMetrics();
    metrics.observeRegistry({
      servicesByStatus: () => store.countServices({ owner: "", admin: true }),
      revision: () => feed.revision,
      watchers: () => streams.size,
    });
    // One options object the router reads per request: the live routing settings are written into it (LIVE_ROUTING_KEYS).
    const routerOptions = routerOptionsFromConfig(config.gateway);
    const router = new CapabilityRouter({
      store,
      feed,
      vault,
      env,
      options: routerOptions,
      observer: gatewayMetricsObserver(metrics),
      logger,
      limits: limits.limits,
    });
    // A secret changed or the vault locked on this instance: the gateway forgets its cached copy at once.
    const offVaultCredentials = forgetCredentialsOnVaultChanges(vault, router);
    undo.unshift(async () => offVaultCredentials());
    registerFederationMetrics(metrics.registry, () => federation.listPeers());
    registerClusterMetrics(metrics.registry, cluster);
    registerVaultMetrics(metrics.registry, () => vault.status());
    registerTlsMetrics(metrics.registry, tlsCertificates);
    // The JSON view of the last hour (metrics/node-activity.ts): the router's live state and the health checker's verdicts.
    metrics.activity.attachRuntime(() => router.serviceStats());
    verdicts.observe((id, verdict) => metrics.activity.recordHealth(id, verdict));
    // Sign-in (issue 14): the security log, passwords, the login throttle, second factors, sessions, users, the first admin.
    const securityLog = new SecurityLog(identity, securityLogger, Date.now, registerSecurityMetrics(metrics.registry));
    const signInSettings = config.auth.signIn;
    const hasher = new PasswordHasher(signInSettings.password);
    const throttle = new CountingLoginThrottle({ limits: limits.limits, settings: config.rateLimit.signIn, securityLog });
    let listeningPort = config.server.port;
    const mfa = createMfa({
      store: identity,
      securityLog,
      config: config.auth.mfa,
      server: { host: config.server.host, port: () => listeningPort },
      // Every instance derives the same key from the node key (auth/mfa/create-mfa.ts); asked when TOTP is first
      // used, so a node started with a locked vault gets TOTP once it is unlocked (passkeys work meanwhile).
      sealKey: () => {
        if (!key.available) throw new ApiError("vault_locked", "the vault is locked: TOTP is unavailable until it is unlocked");
        return Buffer.from(hkdfSync("sha256", tokens.deriveKey("mfa"), Buffer.alloc(0), "kai mfa totp seal v1", 32));
      },
      throttle,
    });
    const secondFactors: SecondFactors = mfa.secondFactors;
    const sessions = new SessionService({ store: identity, tokens, roles, access, log: securityLog, secondFactors, settings: signInSettings });
    const users = new UserService({
      store: identity,
      hasher,
      roles,
      access,
      sessions,
      log: securityLog,
      onPasswordChanged: (user) => removeFirstAdminFile(config.dataDir, signInSettings.firstAdmin.username, user),
    });
    const agents = new AgentSignInService({ store: identity, nodeDid: () => klpNode.did, securityLog });
    // Single sign-on: client secrets are read from the vault by name when a sign-in needs one (never logged).
    const sso = new SsoService({
      settings: config.auth.sso,
      store: identity,
      sessions,
      securityLog,
      userChanged: (user) => access.userChanged(user.id, user),
      readVaultSecret: async (name) => (await vault.getSecret(name, { tokenId: null, owner: "kai-sso", scopes: ["vault:read"] })).value,
      env,
      logger,
    });
    const signIn = new SignInService({ store: identity, hasher, throttle, secondFactors, sessions, users, log: securityLog, agents });
    const firstAdmin = await new FirstAdmin({
      dataDir: config.dataDir,
      username: signInSettings.firstAdmin.username,
      enabled: signInSettings.firstAdmin.enabled,
      store: identity,
      hasher,
      users,
      log: securityLog,
      logger,
    }).ensure();

    // Signals between instances: revocations, vault header changes, health verdicts, users and sessions (cluster/share-signals.ts).
    const signals = await shareClusterSignals({ cluster, shared, tokens, vault, verdicts, router, logger, identity: { access, roles } });
    undo.unshift(async () => signals.stop());
    // Every instance's log lines from any one of them (GET /api/logs, kai logs tail, the Console); none in one process.
    // Another instance's `kai logs search` reads this instance's files through it too.
    const systemLogDir = config.logging.file ? join(config.dataDir, "logs", "system") : undefined;
    const logRelay = shared ? new ClusterLogRelay(cluster, logTailOf(logger), logger, systemLogDir !== undefined ? (filter, limit) => searchLogFiles(systemLogDir, filter, limit) : undefined) : null;
    if (logRelay) undo.unshift(async () => logRelay.close());

    // The singleton jobs: run by this instance while it leads (always, in one process).
    let health: HealthChecker | null = null;
    let compaction: NodeJS.Timeout | null = null;
    const jobs = new SingletonJobs(cluster.leadership, logger)
      .add({ name: "lease-sweeps", start: () => void (sweeping = true), stop: () => void (sweeping = false) })
      .add({ name: "federation-links", start: () => federation.startLinks(), stop: () => federation.stopLinks() })
      // The cluster prunes its signal log while it leads (cluster/postgres/pg-signals.ts); listed so it shows where it runs.
      .add({ name: "signal-pruning", start: () => undefined, stop: () => undefined })
      .add(signInPruningJob({ store: identity, logger }))
      .add({
        name: "health-checks",
        start: async () => {
          // Active health checks feed each service's circuit breaker too, not only its verdict and status.
          health = new HealthChecker({ registry, store, feed, logger, verdicts, onProbe: (id, ok) => router.reportHealth(id, { ok }) });
          await health.start();
        },
        stop: () => {
          health?.stop();
          health = null;
        },
      })
      .add({
        name: "event-compaction",
        start: () => {
          compaction = setInterval(() => {
            store.compactEvents(config.registry.eventRetention).catch((error: unknown) => logger.error({ err: error }, "event log compaction failed"));
          }, 60_000);
          compaction.unref();
        },
        stop: () => {
          if (compaction) clearInterval(compaction);
          compaction = null;
        },
      });
    // What /api/cluster, /api/status and /readyz say about this instance and its siblings.
    let listeningUrl: string | null = null;
    let lanDiscovery: LanDiscovery | null = null;
    let shuttingDown = false;
    const report = new ClusterReport({
      cluster,
      jobs,
      feed,
      tailer,
      vault,
      store,
      storageKind: config.storage.kind,
      redis: () => limits.redisState(),
      url: () => listeningUrl,
      closing: () => shuttingDown,
      reportIntervalMs: config.cluster.heartbeatMs,
      logger,
    });
    // Artifact storage (issue 17): the backend's metadata, blobs under the data dir, share links signed with the node key.
    // Before the mesh: kCore keeps the files agents return from steps as artifacts.
    // Leftover blobs (crashed uploads, blobs no artifact names) are swept by the leader (artifacts.gc, a singleton job).
    const { service: artifacts, gc: artifactGc } = await openArtifacts({ config, store, key, vault, logger: logger.child({ part: "artifacts" }) });
    if (artifactGc) jobs.add(artifactGc);
    // The prompt store (issue 17): prompts and versions in the backend's database; vault references read as the caller.
    // Before the mesh: a task may name a prompt, which kCore renders as the task's owner at dispatch.
    const prompts = new PromptService({ store: store.promptStore(), vault });
    // Runtime configuration changes (issue 18): live settings applied in place, each announced as CONFIG_UPDATE (once:
    // by the instance where it was made). The rate limit tiers are read per request, so they need no applier; so are
    // the keys agents' overrides files may set (kCore reads its step timeout per step, kPlanner its settings per plan,
    // through forAgent). Built before the mesh, which reads agents' views from it; nothing commits a change (which
    // calls onChanged, and so `publishers`) before the runtime layer sync opens below.
    const readPerRequest = () => undefined;
    const layeredConfig = new LayeredConfig({
      layers: configLayers, config,
      live: {
        "logging.level": (level) => setLogLevel(logger, String(level)),
        ...Object.fromEntries(["global", "auth", "read", "write", "heartbeat", "gateway"].map((tier) => [`rateLimit.${tier}`, readPerRequest])),
        ...Object.fromEntries(LIVE_ROUTING_KEYS.map((key) => [`gateway.${key}`, () => applyLiveRouting(routerOptions, config.gateway)])),
        ...Object.fromEntries(AGENT_KEYS.map((entry) => [entry.key, readPerRequest])),
        // Read when the log is listed (the Console's links, kai logs tail --trace).
        "tracing.traceUrl": readPerRequest,
      },
      reread: () => readConfigLayers(configSources),
      onChanged: (changes, by) => {
        if (by === SYNCED_BY) return;
        for (const change of changes) publishers.config.changed(change.key, by, undefined, change.agent);
        // A reloaded file is a change nobody made over the API: the security log records it here (PATCH records its own, with the caller).
        if (by === "file") for (const change of changes) securityLog.recordLater({ type: "config_changed", outcome: "success", actor: "file", details: { key: change.key, old: change.old ?? null, new: change.new ?? null, source: "file", ...(change.agent !== undefined ? { agent: change.agent } : {}) } });
      },
    });
    // The agent mesh (issue 16): bus, agents, kPlanner, kCore.
    const mesh = await openAgentMesh({ ...(tracing ? { tracing } : {}), config, agentConfig: layeredConfig, logger, store, registry, gateway: routerPort(router), klp: klpNode, feed, vault, cluster, prompts, artifacts, plugins: () => late.plugins, runTokens: createRunTokens(tokens, config.auth.maxTokenTtlSeconds), nodeUrl: () => listeningUrl, runCluster: cluster,
      // A2A push credentials are sealed with a key every instance derives from the node key (as TOTP secrets are).
      pushSealKey: () => {
        if (!key.available) throw new ApiError("vault_locked", "the vault is locked: push credentials cannot be sealed or opened until it is unlocked");
        return Buffer.from(hkdfSync("sha256", tokens.deriveKey("a2a-push"), Buffer.alloc(0), "kai a2a push credentials seal v1", 32));
      },
    });
    undo.unshift(() => mesh.close());
    // The agents the node runs itself run where the singleton jobs do (the leader of many instances).
    jobs.add(mesh.runtime.singletonJob);
    // A2A push notifications are delivered by the leader only (else each receiver gets every event once per instance).
    jobs.add(mesh.push.delivery);
    // The node's own events on the bus (bus/publishers/): system status, agents' heartbeats, configuration updates, admins' notifications.
    const publishers = await openSystemPublishers({
      bus: mesh.bus, cluster, ...(shared ? { signals: cluster.signals } : {}), logger, statusIntervalMs: config.bus.statusIntervalMs, vault: key, leases, feed, store,
      peers: () => federation.listPeers(), summary: () => ({ bus: mesh.bus.kind, eventStreams: mesh.events.size }),
    });
    undo.unshift(async () => publishers.stop());
    // Semantic memory (issue 17): rows in the backend's database, the index (embedded, pgvector or a Qdrant/Chroma service) filled from them now; TTL sweeps a singleton job.
    const memory = await openMemory({ config, logger, store, gateway: routerPort(router), instanceName: cluster.instanceName, credentials: router.credentialResolver() });
    undo.unshift(async () => memory.reembed.stop());
    jobs.add(memory.sweeper);
    // Every instance's index learns the memories the others add and remove (memory/memory-signals.ts).
    const memorySignals = shareMemoryChanges({ cluster, shared, memory: memory.service, logger });
    undo.unshift(async () => memorySignals.stop());
    // Plugins (issue 18): the plugin folders read once now (a broken plugin is listed, never fatal); rescans over the API.
    const plugins = await openPlugins({ config, logger, isTrustedPeer: (did) => federation.isTrustedPeer(did) });
    // The plugins this node runs (plugins/runtime/): enabled node-wide, each in its own isolated process, its ServiceBus
    // calls checked against its permissions and security-logged; kCore reaches them late-bound (steps on plugin records).
    const pluginRuntime = new PluginRuntime({
      catalog: plugins,
      settings: store,
      registry,
      bus: new PluginBus({ registry, vault, gateway: routerPort(router), bus: () => mesh.bus, audit: securityLog, memory: memory.service, capabilities: () => late.plugins, tasks: () => mesh.tasks, feed }),
      audit: securityLog,
      logger: logger.child({ part: "plugins" }),
      policy: restartPolicyOf(config.plugins.restart),
      allowWeakIsolation: config.plugins.allowWeakIsolation,
      ...(shared ? { signals: cluster.signals } : {}),
    });
    undo.unshift(() => pluginRuntime.close());
    late.plugins = pluginRuntime;
    // Install, update, remove, roll back (plugins/install/): after each change the catalog reads the folders again and
    // the runtime restarts what changed; a new version of an enabled plugin must start and pass its health check, or
    // the installer puts the previous one back.
    // Every change is recorded in the shared install store and followed by the other instances (docs/plugins.md "Cluster").
    const { installer: pluginInstaller, follower: pluginFollower } = openPluginInstaller({ config, catalog: plugins,
      onChanged: async () => { await plugins.scan(); await pluginRuntime.reload(); }, verify: (id) => pluginRuntime.verify(id), audit: securityLog,
      installs: { store: store.pluginInstallStore(), instanceName: cluster.instanceName, logger: logger.child({ part: "plugins" }), ...(shared ? { signals: cluster.signals } : {}) } });
    undo.unshift(async () => pluginFollower?.close());
    // Memory over KLP (memory_read/memory_write) for the senders klp.memoryGrants names; the node reads it late-bound.
    late.memory = new KlpMemoryHandlers(memory.service, new KlpMemoryGrants(config.klp.memoryGrants, registry));
    // The runtime layer is stored by the node: applied now from the store, and from the other instances as they change it.
    const configSync = new RuntimeLayerSync({ layered: layeredConfig, settings: store, ...(shared ? { signals: cluster.signals } : {}), logger: logger.child({ part: "config" }) });
    await configSync.open();
    undo.unshift(async () => configSync.close());
    // Backups (issue 19): taken while serving, scheduled as a singleton job when backup.schedule is on.
    const backups = openBackups(config, store, logger, async (name) => (await vault.getSecret(name, { tokenId: null, owner: "kai-backup", scopes: ["vault:read"] })).value);
    if (backups.job) jobs.add(backups.job);
    undo.unshift(async () => backups.service.close());
    registerBackupMetrics(metrics.registry, backups.service, config.backup.schedule === "off" ? null : config.backup.schedule);
    // What on this instance needs attention (kai doctor); on a node of several, the others are asked for theirs.
    const checkSelf = () => runDoctor({
      config, startedAt, tlsCertificates, vault, tracing, failingLogFiles, backups: backups.service,
      instanceName: async () => (await report.clusterSummary()).instance.name,
    });
    const doctorRelay = shared ? new ClusterDoctorRelay(cluster, checkSelf, logger) : null;
    if (doctorRelay) undo.unshift(async () => doctorRelay.close());
    const app = await createApp({
      backups: backups.service,
      doctor: checkSelf,
      doctorRelay,
      configLayers: layeredConfig,
      configSync,
      memory: memory.service,
      memoryReembed: memory.reembed,
      plugins,
      pluginRuntime,
      pluginInstaller,
      prompts,
      ...(tracing ? { tracing } : {}),
      lanDiscovery: () => lanDiscovery,
      logRelay,
      config, logger, tokens, registry, streams, getStatus, tlsCertificates, vault, metrics, gateway: routerPort(router), klp: klpNode, federation, listing, mesh, artifacts,
      getCluster: report.getCluster, clusterSummary: report.clusterSummary, readiness: report.readiness, limits: limits.limits,
      signIn: { signIn, sessions, users, roles, access, log: securityLog, agents, mfa: mfa.service, sso },
    });
    // The configuration files are reloaded when they change (all or nothing; an invalid file keeps the last good one).
    const agentConfigDir = agentConfigDirOf(configSources);
    const configWatch = watchConfigFiles({ files: layerFiles(configLayers), ...(agentConfigDir ? { folders: [agentConfigDir.dir] } : {}), layered: layeredConfig, logger });
    undo.unshift(async () => configWatch.close());
    monitor.start();
    await router.start();
    await jobs.start();

    await app.listen({
      port: config.server.port,
      host: config.server.host,
      // Fastify knows only that its server came from a factory (http/tls-server.ts), not that it speaks TLS: its own
      // "Server listening at http://…" lines named the wrong scheme in the log files of an HTTPS node.
      listenTextResolver: (address) => `Server listening at ${tlsEnabled(config.server.tls) ? address.replace(/^http:/, "https:") : address}`,
    });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.server.port;
    listeningPort = port;
    const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
    const url = `${tlsEnabled(config.server.tls) ? "https" : "http"}://${host}:${port}`;
    // A renewed certificate goes live without a restart (http/tls-server.ts).
    const tlsWatch = tlsEnabled(config.server.tls) ? watchTlsFiles(app.server, config.server.tls, tlsCertificates, logger) : null;
    listeningUrl = url;
    report.start();
    // LAN discovery needs the port it announces, so it starts once the node listens.
    if (config.federation.mdns.enabled) lanDiscovery = await startLanDiscovery({ config, did: klpNode.did, name: `kai-${key.keyId}`, port, secure: tlsEnabled(config.server.tls), logger });
    // The agents the node runs itself start now: they are given its URL. So do the enabled plugins.
    await mesh.runtime.open();
    // The plugins the other instances installed are put in place first, so the enabled ones start from them.
    await pluginFollower?.open();
    await pluginRuntime.open();
    // The long-lived parts have made their loggers: a runtime level change reaches them (logging/log-level.ts).
    stopTrackingChildren(logger);
    logger.info({ url, dataDir: config.dataDir, storage: store.description, adminTokenPath: admin.path }, "kai server listening");

    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        logger.info("shutting down");
        shuttingDown = true;
        configWatch.close();
        configSync.close();
        tlsWatch?.close();
        report.stop();
        await lanDiscovery?.close().catch(() => undefined);
        streams.close();
        const forced = setTimeout(() => app.server.closeAllConnections(), config.server.shutdownTimeoutMs);
        forced.unref();
        // The singleton jobs stop first (another instance takes them over), then the parts they use.
        await jobs.stop();
        // A re-embedding stops after its batch, resumable (memory/reembed-job.ts).
        await memory.reembed.stop();
        await memory.close();
        memorySignals.stop();
        await pluginFollower?.close();
        await pluginRuntime.close();
        publishers.stop();
        await mesh.close();
        await federation.close();
        await klpNode.close();
        peerTls?.close();
        await app.close();
        // The last spans are exported before the node reports stopped.
        await tracing?.close().catch(() => undefined);
        clearTimeout(forced);
        router.stop();
        await monitor.stop();
        signals.stop();
        await tailer?.stop();
        // Leaving hands the singleton jobs to another instance at once (no timeout to wait for).
        await cluster.close();
        await redisExtras.close();
        await limits.close();
        await vault.close();
        await store.close();
        logger.info("stopped");
        await flush();
      })();
      return closing;
    };
    return { url, port, adminToken: admin.token, adminTokenPath: admin.path, adminTokenCreated: admin.created, config, logger, klp: klpNode, federation, nodeKey: key, firstAdminPasswordPath: firstAdmin.path, webApp: hasWebBuild(resolveWebRoot(config.web)), mesh, publishers, close };
  } catch (error) {
    for (const step of undo) await step().catch(() => undefined);
    throw error;
  }
}

/** Where the node keeps its data, from the configuration. */
function storageOptions(config: Config, logger: Logger): OpenStoreOptions {
  const { storage } = config;
  switch (storage.kind) {
    case "memory":
      return { kind: "memory" };
    case "postgres":
      return {
        kind: "postgres",
        // The schema refuses `postgres` without a URL.
        url: storage.postgres.url ?? "",
        poolSize: storage.postgres.poolSize,
        statementTimeoutMs: storage.postgres.statementTimeoutMs,
        connectTimeoutMs: storage.postgres.connectTimeoutMs,
        tls: storage.postgres.tls,
        reservedConnections: storage.postgres.reservedConnections,
        expectedInstances: config.cluster.expectedInstances,
        logger,
      };
    case "sqlite":
      return { kind: "sqlite", path: join(config.dataDir, "kai.db"), synchronous: storage.sqlite.synchronous, checkpointIntervalMs: storage.sqlite.checkpointIntervalMs, pageSize: storage.sqlite.pageSize, logger };
  }
}
