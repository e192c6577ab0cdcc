/**
 * @module client
 * `createClient`: the REST calls of the registry as typed methods. Each method is one request; paths,
 * statuses and schemas follow the HTTP API exactly. Streaming lives in `watcher.ts`.
 */
import {
  BulkDeregistrationResponseSchema,
  BulkRegistrationResponseSchema,
  ClusterResponseSchema,
  DoctorResponseSchema,
  CreateTokenResponseSchema,
  HealthzResponseSchema,
  HeartbeatResponseSchema,
  ListServicesResponseSchema,
  ListTokensResponseSchema,
  ServiceRecordSchema,
  StatusResponseSchema,
  LoginResponseSchema,
  type ListServicesQueryInput,
  type ServiceFilterInput,
  type ServiceRecord,
  ServiceCheckResponseSchema,
} from "@kai/protocol";
import { z } from "zod";
import { HttpTransport } from "./http-transport.js";
import type { ClientOptions, KaiClient } from "./types.js";
import { createRegistryStream, createWatcher, type WatcherContext } from "./watcher.js";
import { createVaultClient } from "./vault.js";
import { createGatewayClient } from "./gateway.js";
import { createKlpClient, createPeersClient } from "./peers.js";
import { SessionCredentials } from "./session.js";
import { createAuthClient } from "./auth.js";
import { createMeClient, createRolesClient, createUsersClient } from "./users.js";
import { createMfaClient } from "./mfa.js";
import { createLogsClient } from "./logs.js";
import { createObservationsClient } from "./observations.js";
import { createConfigClient } from "./config.js";
import { createPluginsClient } from "./plugins.js";
import { createBackupsClient } from "./backups.js";
import { createPasskeyClient } from "./passkeys.js";
import { createPlannerClient } from "./planner.js";
import { createAgentsClient } from "./agents.js";
import { createTasksClient } from "./tasks.js";
import { createPromptsClient } from "./prompts.js";
import { createMemoryClient } from "./memory.js";
import { createArtifactsClient } from "./artifacts.js";
import { createEventsClient } from "./events.js";

const servicePath = (id: string) => `/api/services/${encodeURIComponent(id)}`;

/**
 * The listing's response schema compiled (zod's generated parser: same rules, same value), on first use. Why: a page
 * is up to 1000 records, and reading 100,000 (`kai services apply` compares a manifest with what the registry holds)
 * spent seconds in the schema's runtime parser. Where code cannot be generated (a browser extension's content security
 * policy), `z.compile` hands the schema back as it is.
 */
let compiledListSchema: typeof ListServicesResponseSchema | undefined;
const listServicesSchema = () => (compiledListSchema ??= z.compile(ListServicesResponseSchema));

export function createClient(options: ClientOptions): KaiClient {
  // The session refreshes through the transport it authenticates; the refresh itself goes without credentials.
  const session: SessionCredentials = new SessionCredentials(
    { token: options.token, refreshToken: options.refreshToken, accessExpiresAt: options.accessExpiresAt, sessionExpiresAt: options.sessionExpiresAt, cookie: options.cookieSession },
    async (refreshToken) =>
      (await http.request("POST", "/api/auth/refresh", { body: refreshToken !== undefined ? { refreshToken } : {}, schema: LoginResponseSchema, anonymous: true })).data,
    options.onTokens?.bind(options),
  );
  const http = new HttpTransport({ ...options, credentials: session });

  const list = async (query?: ListServicesQueryInput) =>
    (await http.request("GET", "/api/services", { query, schema: listServicesSchema() })).data;

  /**
   * Every matching record, page after page. The next page is asked for as soon as a page arrives, before its records
   * are handed out: the node reads and encodes it while the caller works through this one (reading 100,000 records
   * spent a quarter of its time waiting for the next page). A caller that stops early leaves at most that one request.
   */
  async function* listAll(query: ServiceFilterInput & Pick<ListServicesQueryInput, "sort" | "order"> & { pageSize?: number } = {}): AsyncGenerator<ServiceRecord> {
    const { pageSize, ...filter } = query;
    const pageAfter = (cursor: string | undefined) => list({ ...filter, ...(pageSize !== undefined ? { limit: pageSize } : {}), ...(cursor !== undefined ? { cursor } : {}) });
    let next: ReturnType<typeof list> | undefined = pageAfter(undefined);
    while (next !== undefined) {
      const page: Awaited<ReturnType<typeof list>> = await next;
      const cursor = page.nextCursor ?? undefined;
      next = cursor !== undefined ? pageAfter(cursor) : undefined;
      // Handled here so that a caller who stops before it is awaited leaves no unhandled rejection; awaited, it throws.
      next?.catch(() => {});
      yield* page.services;
    }
  }

  const streamContext: WatcherContext = {
    baseUrl: http.baseUrl,
    accessToken: () => session.currentAccessToken(),
    WebSocket: options.WebSocket,
    // A failed connect is checked against the REST API, which tells a bad token from a dead server.
    probeAccess: async () => {
      await list({ limit: 1 });
    },
  };

  const client: KaiClient = {
    url: http.baseUrl,
    health: async () => (await http.request("GET", "/healthz", { schema: HealthzResponseSchema })).data,
    status: async () => (await http.request("GET", "/api/status", { schema: StatusResponseSchema })).data,
    cluster: async () => (await http.request("GET", "/api/cluster", { schema: ClusterResponseSchema })).data,
    doctor: async (query = {}) => (await http.request("GET", "/api/doctor", { query: { ...query }, schema: DoctorResponseSchema })).data,
    services: {
      register: async (input) => {
        const response = await http.request("POST", "/api/services/register", { body: input, schema: ServiceRecordSchema });
        return { service: response.data, created: response.status === 201 };
      },
      // A full batch is one storage transaction of 1000 records: allow longer than a single registration.
      registerMany: async (registrations) =>
        (await http.request("POST", "/api/services/bulk", { body: { services: registrations }, schema: BulkRegistrationResponseSchema, timeoutMs: 60_000 })).data,
      registerManyEncoded: async (body) =>
        (await http.request("POST", "/api/services/bulk", { rawBody: { data: body, contentType: "application/json" }, schema: BulkRegistrationResponseSchema, timeoutMs: 60_000 })).data,
      list,
      listAll,
      get: async (id) => (await http.request("GET", servicePath(id), { schema: ServiceRecordSchema })).data,
      update: async (id, patch) => (await http.request("PATCH", servicePath(id), { body: patch, schema: ServiceRecordSchema })).data,
      // The body is optional on the server; `{}` is sent so that the request is valid JSON either way.
      heartbeat: async (id, body) =>
        (await http.request("POST", `${servicePath(id)}/heartbeat`, { body: body ?? {}, schema: HeartbeatResponseSchema })).data,
      remove: async (id) => {
        await http.request("DELETE", servicePath(id));
      },
      // One storage transaction of up to 1000 removals, like a bulk registration's: the same longer timeout.
      removeMany: async (ids) =>
        (await http.request("POST", "/api/services/bulk-delete", { body: { ids }, schema: BulkDeregistrationResponseSchema, timeoutMs: 60_000 })).data,
      // A live probe may wait on a slow provider: allow longer than a registry call.
      check: async (id) => (await http.request("POST", `${servicePath(id)}/check`, { schema: ServiceCheckResponseSchema, timeoutMs: 60_000 })).data,
    },
    tokens: {
      create: async (input) => (await http.request("POST", "/api/tokens", { body: input, schema: CreateTokenResponseSchema })).data,
      list: async () => (await http.request("GET", "/api/tokens", { schema: ListTokensResponseSchema })).data.tokens,
      revoke: async (id) => {
        await http.request("DELETE", `/api/tokens/${encodeURIComponent(id)}`);
      },
    },
    vault: createVaultClient(http),
    auth: createAuthClient(http, session),
    users: createUsersClient(http),
    me: createMeClient(http),
    roles: createRolesClient(http),
    mfa: createMfaClient(http),
    passkeys: createPasskeyClient(http, session),
    config: createConfigClient(http),
    gateway: createGatewayClient(http),
    peers: createPeersClient(http),
    logs: createLogsClient(http),
    observations: createObservationsClient(http),
    klp: createKlpClient(http),
    planner: createPlannerClient(http),
    agents: createAgentsClient(http),
    tasks: createTasksClient(http),
    prompts: createPromptsClient(http),
    memory: createMemoryClient(http),
    artifacts: createArtifactsClient(http),
    events: createEventsClient(http),
    plugins: createPluginsClient(http),
    backups: createBackupsClient(http),
    watch: (watchOptions) => createWatcher(streamContext, watchOptions),
    registryStream: (streamOptions) => createRegistryStream(streamContext, streamOptions),
  };
  return client;
}
