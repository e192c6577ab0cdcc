/**
 * @module http/app
 * Builds the HTTP application (Fastify) from already-constructed services; it does not listen.
 * Public: `/healthz`, `/readyz`, `/openapi.json`, `/docs`, and the sign-in scope (sign-in, refresh, sign-out: the
 * caller has no token yet; the `auth` rate-limit tier and the login throttle guard them). Everything else lives in one
 * protected scope where authentication (bearer token or a session cookie with CSRF), scope checks and rate limits
 * apply to every route without exception.
 */
import { join } from "node:path";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import websocket from "@fastify/websocket";
import cookie from "@fastify/cookie";
import swagger, { type SwaggerTransformObject } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { ClientStreamMessageSchema, HealthzResponseSchema, ServerStreamMessageSchema, type DoctorReport } from "@kai/protocol";
import { z } from "zod";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import type { TokenService } from "../auth/token-service.js";
import type { RegistryService } from "../registry/registry-service.js";
import type { Vault } from "../vault/vault.js";
import { VERSION } from "../version.js";
import { installErrorHandling, sendFrameworkError } from "./error-handler.js";
import { MAX_PARAM_LENGTH } from "./router-limits.js";
import { installWebApp, resolveWebRoot, type WebApp } from "./web-app.js";
import { openApiTransform, withNamedSchemas } from "./openapi-schemas.js";
import { ApiError } from "../errors.js";
import { installJsonBodyParser } from "./json-body.js";
import { bodyGuardOptions, installBodyGuard } from "./body-guard.js";
import { createAuthenticateHook, principalOf } from "./authenticate.js";
import { installRateLimit } from "./rate-limit.js";
import type { RateLimits } from "../cluster/limits/limit-types.js";
import { generateRequestId, installRequestLog, lazyChildLogger } from "./request-log.js";
import type { NodeTracing } from "../tracing/node-tracing.js";
import { installRequestMetrics } from "./request-metrics.js";
import { metricsRoutes } from "./routes/metrics.js";
// What the node measured, as JSON for the web app (issue 15): traffic now and over the last hour, a service's activity.
import { observationRoutes } from "./routes/observations.js";
import type { NodeMetrics } from "../metrics/metrics.js";
import type { GatewayPort } from "./front-doors/gateway-port.js";
import { openAiRoutes } from "./front-doors/openai-routes.js";
import { genericGatewayRoutes } from "./front-doors/generic-routes.js";
import { connectorRoutes } from "./routes/connectors.js";
import { servicesRoutes } from "./routes/services.js";
import { tokenRoutes } from "./routes/tokens.js";
import { vaultRoutes } from "./routes/vault.js";
import { transitRoutes } from "./routes/transit.js";
import { statusRoutes, type ClusterSummaryProvider, type StatusProvider } from "./routes/status.js";
import { doctorRoutes } from "./routes/doctor.js";
import type { ClusterDoctorRelay } from "../doctor/cluster-doctor-relay.js";
import { alwaysReady, clusterRoutes, readinessRoute, type ClusterProvider, type ReadinessProvider } from "./routes/cluster.js";
// KLP (issue 5): signature-authenticated and public routes, outside the bearer scope; grants inside it.
import { klpAdminRoutes, klpRoutes } from "./routes/klp.js";
import { klpSocketRoute } from "./ws/klp-socket.js";
import type { KlpNode } from "../klp/klp-node.js";
import type { FederationService } from "../federation/federation-service.js";
import type { ServiceListing } from "../directory/service-listing.js";
import { peersRoutes, type LanDiscoveryView } from "./routes/peers.js";
import type { DirectoryWatch } from "../directory/directory-watch.js";
import { attachRegistryStream } from "./ws/registry-stream.js";
// Sign-in (issue 14): users, roles, sessions.
import { authRoutes, signInRoutes } from "./routes/auth.js";
import { userRoutes } from "./routes/users.js";
import { roleRoutes } from "./routes/roles.js";
import type { SignInService } from "../auth/sign-in/sign-in-service.js";
import type { SessionService } from "../auth/sessions/session-service.js";
import type { UserService } from "../auth/users/user-service.js";
import type { RoleCatalog } from "../auth/roles.js";
import type { AccessTable } from "../auth/users/access-table.js";
import type { SecurityLog } from "../auth/security-log.js";
import type { AgentSignIn } from "../auth/sign-in-ports.js";
import { agentSignInRoutes } from "./routes/agent-sign-in.js";
import type { SsoService } from "../auth/sso/sso-service.js";
import { ssoRoutes } from "./routes/sso.js";
import type { MfaService } from "../auth/mfa/mfa-service.js";
import { mfaRoutes, passkeySignInRoutes } from "./routes/mfa.js";
// The live log (issue 15): the logger's in-memory ring of recent, already-redacted lines.
import { logsRoutes } from "./routes/logs.js";
import { logTailOf } from "../logging/logger.js";
import type { ClusterLogRelay } from "../logging/cluster-log-relay.js";
// The effective configuration, secrets redacted (issue 15, the web app's Settings).
import { configRoutes } from "./routes/config.js";
import { requirePeerCertificates, tlsEnabled, tlsServerFactory } from "./tls-server.js";
import type { TlsCertificates } from "./tls-certificates.js";
import type { RuntimeLayerSync } from "../config/layers/runtime-layer-sync.js";
import type { LayeredConfig } from "../config/layers/layered-config.js";
import type { AgentMesh } from "../agents/open-agent-mesh.js";
// The orchestration bus to clients (issue 16): SSE and WebSocket.
import { eventsRoutes } from "./routes/events.js";
import { eventsSocketOpenApi, eventsSocketRoute } from "./ws/events-socket.js";
import { plannerRoutes } from "./routes/planner.js";
import { agentsRoutes } from "./routes/agents.js";
import { agentsA2aRoutes } from "./routes/agents-a2a.js";
import { agentsMcpRoutes } from "./routes/agents-mcp.js";
import { agentsRuntimeRoutes } from "./routes/agents-runtime.js";
import { taskRoutes } from "./routes/tasks.js";
import { promptRoutes } from "./routes/prompts.js";
import type { PromptService } from "../prompts/prompt-service.js";
import { artifactRoutes, artifactShareRoutes } from "./routes/artifacts.js";
import type { ArtifactService } from "../artifacts/artifact-service.js";
import { memoryRoutes } from "./routes/memory.js";
import type { MemoryService } from "../memory/memory-service.js";
import type { ReembedJob } from "../memory/reembed-job.js";
import { pluginRoutes } from "./routes/plugins.js";
import type { PluginCatalog } from "../plugins/plugin-catalog.js";
import type { PluginRuntime } from "../plugins/runtime/plugin-runtime.js";
// Plugin lifecycle (issue 18): install, update, remove, roll back, history.
import { pluginLifecycleRoutes } from "./routes/plugin-lifecycle.js";
import { pluginUiRoutes } from "./routes/plugin-ui.js";
// Backups (issue 19): take, list, verify.
import { backupRoutes } from "./routes/backups.js";
import type { BackupService } from "../backup/backup-service.js";
import type { PluginInstaller } from "../plugins/install/plugin-installer.js";
// The node as an A2A agent (issue 16): its public agent card and the A2A JSON-RPC endpoint on kCore.
import { a2aCardRoutes, a2aRoutes } from "./routes/a2a.js";
import { a2aRestRoutes } from "./routes/a2a-rest.js";
import { AgentCardSource } from "../agents/a2a/server/agent-card.js";

/** The sign-in parts the routes use (server.ts builds them). */
export interface SignInParts {
  signIn: SignInService;
  sessions: SessionService;
  users: UserService;
  roles: RoleCatalog;
  access: AccessTable;
  log: SecurityLog;
  agents: AgentSignIn;
  /** Second factors: the user's own, the admin reset, passkey sign-in (auth/mfa/). */
  mfa: MfaService;
  /** Single sign-on with OpenID Connect providers (auth/sso/). */
  sso: SsoService;
}

export interface AppDeps {
  config: Config;
  /** The configuration's layers and runtime changes (issue 18); absent: GET /api/config only explains the values themselves. */
  configLayers?: LayeredConfig;
  /** The runtime layer stored and shared by the instances (config/layers/runtime-layer-sync.ts). */
  configSync?: RuntimeLayerSync;
  logger: Logger;
  /** The node's tracing (tracing/node-tracing.ts): a server span per request; absent when `tracing.enabled` is off. */
  tracing?: NodeTracing;
  tokens: TokenService;
  registry: RegistryService;
  streams: DirectoryWatch;
  getStatus: StatusProvider;
  /** The TLS files this instance uses (http/tls-certificates.ts): the HTTPS server tells it what it loaded. */
  tlsCertificates: TlsCertificates;
  vault: Vault;
  metrics: NodeMetrics;
  gateway: GatewayPort;
  klp: KlpNode;
  federation: FederationService;
  /** LAN discovery (federation.mdns), started once the node listens. */
  lanDiscovery?: LanDiscoveryView;
  /** The other instances' log lines, on a node of several instances (logging/cluster-log-relay.ts). */
  logRelay?: ClusterLogRelay | null;
  /** `GET /api/services` over local and imported records. */
  listing: ServiceListing;
  /** `GET /api/cluster`: the instances, the leader, the shared database and cache. */
  getCluster: ClusterProvider;
  /** `GET /api/status`'s `cluster` section. */
  clusterSummary: ClusterSummaryProvider;
  /** Where the per-token buckets are counted: node-wide (PostgreSQL/Redis) when shared; in memory by default. */
  limits?: RateLimits;
  /** Users, roles, sessions and the security log (issue 14). */
  signIn: SignInParts;
  /** `GET /readyz`: whether this instance can serve (database reachable, vault unlocked, caught up); without it, always ready. */
  readiness?: ReadinessProvider;
  /** The agent mesh (issue 16): bus, agents, kPlanner, kCore. */
  mesh: AgentMesh;
  /** The prompt store (issue 17): prompts, versions, labels, render. */
  prompts: PromptService;
  /** Artifact storage (issue 17): uploads, downloads, share links. */
  artifacts: ArtifactService;
  /** Semantic memory (issue 17): add, search by meaning, delete. */
  memory: MemoryService;
  /** The re-embedding job (POST/GET /api/memory/reembed). */
  memoryReembed: ReembedJob;
  /** Plugins (issue 18): what the plugin folders hold, GET /api/plugins. */
  plugins: PluginCatalog;
  /** The plugins running on this instance: enable/disable, their state, calls of their capabilities (plugins/runtime/). */
  pluginRuntime?: PluginRuntime;
  /** Plugin lifecycle (issue 18): install, update, remove, roll back; absent: those routes are not served. */
  pluginInstaller?: PluginInstaller;
  /** Backups (issue 19): /api/backups; absent: those routes are not served. */
  backups?: BackupService;
  /** `GET /api/doctor`: what on this instance needs attention (doctor/node-doctor.ts); absent: not served. */
  doctor?: () => Promise<DoctorReport>;
  /** The other instances' checks on a node of several instances (doctor/cluster-doctor-relay.ts); null in one process. */
  doctorRelay?: ClusterDoctorRelay | null;
}

/**
 * Once shutdown begins, new requests on kept-alive connections answer 503 `unavailable` (in-flight ones finish);
 * `/readyz` answers for itself (not ready: shutting down). Returns whether shutdown has begun.
 */
function installShutdownGate(app: FastifyInstance): () => boolean {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", (request, reply, done) => {
    if (!closing || request.routeOptions.url === "/readyz") return done();
    reply.header("Connection", "close");
    done(new ApiError("unavailable", "the server is shutting down", undefined, { "Retry-After": "1" }));
  });
  return () => closing;
}

/** Adds `/ws/registry` to the OpenAPI document: the upgrade request, its errors, and both message schemas. */
function addWebSocketPaths(input: Parameters<SwaggerTransformObject>[0]): Record<string, unknown> {
  const document = ("openapiObject" in input ? input.openapiObject : input.swaggerObject) as Record<string, unknown> & { paths?: Record<string, unknown>; components?: Record<string, unknown> };
  const paths = (document.paths ??= {});
  const errorBody = { description: "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  paths["/ws/registry"] = {
    get: {
      tags: ["services"],
      summary: "Registry change stream (WebSocket upgrade)",
      description:
        "Upgrade to WebSocket (token in Authorization or ?token=; scope services:read). The client sends `x-client-messages`, " +
        "the server answers with `x-server-messages`: a snapshot or a resume, then events in revision order. See docs/api.md.",
      security: [{ bearer: [] }],
      parameters: [{ name: "token", in: "query", required: false, schema: { type: "string" }, description: "bearer token, for clients that cannot set headers" }],
      responses: { 101: { description: "switching protocols" }, 401: errorBody, 403: errorBody, 429: errorBody },
      "x-client-messages": z.toJSONSchema(ClientStreamMessageSchema, { unrepresentable: "any" }),
      "x-server-messages": z.toJSONSchema(ServerStreamMessageSchema, { unrepresentable: "any" }),
    },
  };
  paths["/ws/events"] = eventsSocketOpenApi(errorBody);
  const components = (document.components ??= {}) as { schemas?: Record<string, unknown> };
  components.schemas ??= {};
  components.schemas.Error ??= {
    type: "object",
    required: ["error"],
    properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: {} } } },
  };
  return document;
}

export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's own two lines per request are off: request-log.ts writes one line with what we need.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "requestId" }),
    genReqId: generateRequestId,
    // Request child loggers are built on first use only (see request-log.ts).
    childLoggerFactory: lazyChildLogger,
    bodyLimit: deps.config.server.bodyLimit,
    // Behind a load balancer the client's address and scheme come from X-Forwarded-* (only from the proxies trusted here).
    trustProxy: deps.config.server.trustProxy,
    // How long a request's headers may take to arrive, and our 408 (bodies: installBodyGuard).
    ...bodyGuardOptions(deps.config.server),
    // Closing: in-flight requests finish; idle keep-alive connections are closed at once.
    forceCloseConnections: "idle",
    // Requests that arrive while closing get our own 503 body (installShutdownGate), not Fastify's.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors the router raises before any hook runs (malformed URL encoding, over-long path parameters)
    // get the same error body and request id as everything else.
    frameworkErrors: sendFrameworkError,
    // TLS terminated here when server.tls names a certificate (http/tls-server.ts); else plain HTTP (a proxy in front).
    ...(tlsEnabled(deps.config.server.tls) ? { serverFactory: tlsServerFactory(deps.config.server.tls, deps.tlsCertificates) } : {}),
  }).withTypeProvider<ZodTypeProvider>();
  requirePeerCertificates(app, deps.config.server.tls);

  app.setValidatorCompiler(validatorCompiler);
  // Responses are built from typed, already-valid records; re-validating them on every reply would only cost time.
  // The response schemas still document the API in the OpenAPI document.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installJsonBodyParser(app);
  // Browsers navigating to a deep link of the web app (`/services/x`) get the app; everything else its JSON 404.
  const web: { app?: WebApp | undefined } = {};
  installErrorHandling(app, (request, reply) => web.app?.serveNavigation(request, reply) ?? false);
  installRequestLog(app, deps.logger, deps.tracing);
  installRequestMetrics(app, deps.metrics);
  const closing = installShutdownGate(app);
  installBodyGuard(app, deps.config.server);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "kAI Service Stack API",
        version: VERSION,
        description: "Service registry of the kAI service stack. Errors are `{\"error\":{\"code\",\"message\",\"details\"?}}`.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    },
    transform: openApiTransform,
    // @fastify/swagger leaves WebSocket routes out of the document; the change stream is part of the API,
    // so its upgrade request and message shapes are added here, from the same zod schemas the server uses.
    // The named (recursive) schemas the routes refer to are added as components (openapi-schemas.ts).
    transformObject: (documentObject) => addWebSocketPaths({ ...documentObject, openapiObject: withNamedSchemas(documentObject) } as typeof documentObject),
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  // Read per request: the tiers' limits change live (PATCH /api/config, a reloaded file).
  await installRateLimit(app, () => deps.config.rateLimit, deps.limits);
  // Session cookies (HttpOnly, SameSite=Lax; Secure with the __Host- prefix over HTTPS): http/session-reply.ts.
  await app.register(cookie);
  app.decorate("secureCookies", deps.config.auth.signIn.secureCookies);

  app.get("/healthz", { schema: { tags: ["node"], summary: "Liveness probe (no authentication)", response: { 200: HealthzResponseSchema } } }, async () => ({ status: "ok" as const }));
  await app.register(readinessRoute(deps.readiness ?? alwaysReady, closing));
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  // The web app at `/` (http/web-app.ts); without its build, someone who opens the address lands on the API docs.
  web.app = await installWebApp(app, resolveWebRoot(deps.config.web));
  if (!web.app) {
    app.get("/", { schema: { tags: ["node"], summary: "Redirects to the API docs page (no authentication; the web app is not built)", response: { 302: z.null().describe("to /docs") } } }, async (_request, reply) => {
      await reply.redirect("/docs", 302);
    });
  }
  // KLP: authenticated by envelope signatures (or public, signed reads), never by bearer tokens.
  await app.register(klpRoutes(deps.klp));
  await app.register(klpSocketRoute(deps.klp, deps.logger, deps.config.klp.maxSockets));
  // A2A: the agent card is public (clients read it before they have a token); /a2a is in the protected scope.
  const a2aCard = new AgentCardSource(deps.registry, Date.now, () => deps.klp.identity);
  await app.register(a2aCardRoutes(a2aCard));
  // Share links (issue 17): public on purpose, the link's Ed25519 signature authenticates it (artifacts/share-links.ts).
  await app.register(artifactShareRoutes(deps.artifacts));

  // The sign-in scope: public on purpose (the caller signs in here), each route in the `auth` tier.
  await app.register(async (scope) => {
    await scope.register(signInRoutes({ signIn: deps.signIn.signIn, sessions: deps.signIn.sessions, tokens: deps.tokens }));
    await scope.register(agentSignInRoutes(deps.signIn.agents));
    await scope.register(passkeySignInRoutes({ mfa: deps.signIn.mfa, sessions: deps.signIn.sessions }));
    await scope.register(ssoRoutes(deps.signIn.sso));
  });

  await app.register(async (scope) => {
    scope.addHook("onRequest", createAuthenticateHook(deps.tokens, (sessionId, presented) => deps.signIn.sessions.checkCsrf(sessionId, presented)));
    await scope.register(servicesRoutes(deps.registry, deps.listing));
    await scope.register(peersRoutes(deps.federation, deps.lanDiscovery));
    await scope.register(tokenRoutes(deps.tokens, deps.signIn.log));
    await scope.register(statusRoutes(deps.getStatus, deps.clusterSummary));
    if (deps.doctor) await scope.register(doctorRoutes(deps.doctor, deps.doctorRelay ?? null));
    await scope.register(clusterRoutes(deps.getCluster));
    await scope.register(vaultRoutes(deps.vault));
    await scope.register(transitRoutes(deps.vault));
    await scope.register(metricsRoutes(deps.metrics));
    await scope.register(observationRoutes({ activity: deps.metrics.activity, registry: deps.registry }));
    // The config object is changed in place by a live change: read at each listing.
    await scope.register(logsRoutes(logTailOf(deps.logger), deps.logRelay ?? null, async () => (await deps.clusterSummary()).instance.name, () => deps.config.tracing.traceUrl, {
      systemDir: deps.config.logging.file ? join(deps.config.dataDir, "logs", "system") : undefined,
    }));
    await scope.register(openAiRoutes(deps.gateway, deps.metrics, deps.prompts));
    await scope.register(genericGatewayRoutes(deps.gateway, deps.metrics, deps.pluginRuntime));
    await scope.register(connectorRoutes(() => deps.gateway.connectors()));
    await scope.register(klpAdminRoutes(deps.klp));
    await scope.register(authRoutes({ sessions: deps.signIn.sessions, access: deps.signIn.access, log: deps.signIn.log }));
    await scope.register(userRoutes({ users: deps.signIn.users, sessions: deps.signIn.sessions, tokens: deps.tokens, access: deps.signIn.access, log: deps.signIn.log }));
    await scope.register(mfaRoutes({ mfa: deps.signIn.mfa }));
    await scope.register(roleRoutes({ roles: deps.signIn.roles, users: deps.signIn.users, access: deps.signIn.access, log: deps.signIn.log }));
    await scope.register(configRoutes(deps.config, { ...(deps.configLayers ? { layered: deps.configLayers } : {}), ...(deps.configSync ? { sync: deps.configSync } : {}), log: deps.signIn.log }));
    // The agent mesh's routes (issue 16): agents, tasks, planner, events.
    await scope.register(eventsRoutes(deps.mesh.events));
    await scope.register(eventsSocketRoute(deps.mesh.events));
    await scope.register(plannerRoutes(deps.mesh.planner));
    await scope.register(agentsRoutes(deps.mesh.agents, deps.mesh.runtime));
    await scope.register(agentsA2aRoutes(deps.mesh.a2a));
    await scope.register(agentsMcpRoutes(deps.mesh.mcp));
    await scope.register(agentsRuntimeRoutes(deps.mesh.runtime));
    await scope.register(taskRoutes(deps.mesh.tasks));
    await scope.register(promptRoutes(deps.prompts));
    await scope.register(artifactRoutes(deps.artifacts));
    await scope.register(memoryRoutes(deps.memory, deps.memoryReembed));
    await scope.register(pluginRoutes(deps.plugins, deps.pluginRuntime));
    if (deps.pluginRuntime) await scope.register(pluginUiRoutes(deps.plugins, deps.pluginRuntime));
    if (deps.pluginInstaller) await scope.register(pluginLifecycleRoutes(deps.pluginInstaller, deps.plugins, deps.config.plugins.maxPackageBytes));
    if (deps.backups) await scope.register(backupRoutes(deps.backups));
    await scope.register(a2aRoutes({ tasks: deps.mesh.tasks, hub: deps.mesh.events, registry: deps.registry, logger: deps.logger, push: deps.mesh.push }, a2aCard));
    // The same A2A operations over the HTTP+JSON (REST) binding, on the same request handler: /a2a/rest/...
    await scope.register(a2aRestRoutes({ tasks: deps.mesh.tasks, hub: deps.mesh.events, registry: deps.registry, logger: deps.logger, push: deps.mesh.push }, a2aCard));
    scope.route({
      method: "GET",
      url: "/ws/registry",
      config: { scopes: ["services:read"], bucket: "read" },
      schema: {
        tags: ["services"],
        summary: "Registry change stream (WebSocket)",
        description: "Upgrade to WebSocket; token in Authorization or ?token=. Send {\"type\":\"subscribe\",\"filter\"?,\"fromRevision\"?}.",
      },
      // Plain HTTP (no Upgrade header) gets our error body, not the plugin's empty 404.
      handler: () => {
        throw new ApiError("upgrade_required", "this is a WebSocket endpoint: send an Upgrade: websocket request", undefined, { Upgrade: "websocket" });
      },
      wsHandler: (socket, request) => attachRegistryStream(deps.streams, socket, principalOf(request)),
    });
  });

  return app;
}
