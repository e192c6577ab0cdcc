/**
 * @module types
 * The public surface of the SDK: the client, the watcher and the agent helper, as interfaces. The data
 * shapes themselves come from @kai/protocol and are re-exported, never redefined.
 */
import type { PluginsClient } from "./plugins.js";
import type { BackupsClient } from "./backups.js";
import type {
  klp,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ConnectorInfo,
  EmbeddingRequest,
  EmbeddingResponse,
  ModelEntry,
  RouteResponse,
  RoutingHints,
  ServedBy,
  ServiceCheckResponse,
  AuditEntry,
  AuditQueryInput,
  AuditVerifyResponse,
  ClusterResponse,
  DoctorQueryInput,
  DoctorResponse,
  CreateTokenRequestInput,
  CreateTokenResponse,
  EncryptResponse,
  EventMessage,
  HeartbeatRequest,
  HeartbeatResponse,
  ListServicesQueryInput,
  ListServicesResponse,
  ServiceFilterInput,
  ServicePatchInput,
  ServiceRecord,
  PutSecretRequest,
  RotateResponse,
  SecretInfo,
  SecretValueResponse,
  ServiceRegistrationInput,
  BulkRegistrationResponse,
  BulkDeregistrationResponse,
  SnapshotMessage,
  StatusResponse,
  TokenInfo,
  VaultStatus,
  ChallengeResponse,
  ChangePasswordRequest,
  CreateUserRequestInput,
  ListSecurityEventsResponse,
  ListUsersResponse,
  LoginRequestInput,
  LoginResponse,
  SsoExchangeRequest,
  SsoProviderInfo,
  PutRoleRequest,
  Role,
  Session,
  UpdateProfileRequest,
  UpdateUserRequest,
  User,
  ValidateResponse,
  MfaStatus,
  Passkey,
  SecondFactorProof,
  TotpConfirmResponse,
  TotpEnrolResponse,
  NodeConfigResponse,
  ConfigExplainResponse,
  ConfigPatchResponse,
  PasskeyLoginRequestInput,
  RegisterPasskeyRequest,
  RegisterPasskeyResponse,
  WebAuthnOptionsResponse,
  ImageGenerationRequest,
  ImageGenerationResponse,
} from "@kai/protocol";
import type { SessionTokens } from "./session.js";
import type { SsoStartOptions } from "./sso.js";
import type { LogsClient } from "./logs.js";
import type { ObservationsClient } from "./observations.js";
import type { PlannerClient } from "./planner.js";
import type { AgentsClient } from "./agents.js";
import type { TasksClient } from "./tasks.js";
import type { PromptsClient } from "./prompts.js";
import type { MemoryClient } from "./memory.js";
import type { ArtifactsClient } from "./artifacts.js";
import type { EventsClient } from "./events.js";

export interface ClientOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** Bearer token (JWT): an API token, or the access token of a session (with `refreshToken`). */
  token?: string;
  /**
   * The refresh token of a sign-in session: the client then renews its access token when it is about to
   * expire or the server answers 401, and reports each rotated refresh token through `onTokens`.
   */
  refreshToken?: string;
  /** When `token` (a session's access token) expires, ISO-8601 by this machine's clock (`SessionTokens.accessExpiresAt`). */
  accessExpiresAt?: string;
  /** When the session ends for good (kept for `onTokens`). */
  sessionExpiresAt?: string;
  /**
   * Called after every sign-in and refresh with the new tokens (keep `refreshToken`: the old one is spent),
   * and with `null` when the session ended (logout, or the server refused the refresh token).
   */
  onTokens?(tokens: SessionTokens | null): void | Promise<void>;
  /**
   * A browser session in HttpOnly cookies (the same-origin web app): sign in with `mode: "cookie"`; the client
   * then sends the session's CSRF token on writes and renews through the refresh cookie (`auth.refresh()` with
   * no argument resumes a session after a page load). `onTokens(null)` reports its end.
   */
  cookieSession?: boolean;
  /** A `fetch` to use instead of the global one (tests, proxies, older runtimes). */
  fetch?: typeof fetch;
  /**
   * A WebSocket constructor for `watch()`. Default: `globalThis.WebSocket` (browsers, Node 22+),
   * else the `ws` package, loaded lazily in Node.
   */
  WebSocket?: unknown;
  /** Per-request timeout; default 10 000 ms. */
  timeoutMs?: number;
  userAgent?: string;
}

export interface KaiClient {
  readonly url: string;
  health(): Promise<{ status: "ok" }>;
  status(): Promise<StatusResponse>;
  /** The node's instances, the leader and its singleton jobs, the shared database and cache (scope `admin`). */
  cluster(): Promise<ClusterResponse>;
  /**
   * What on the node needs attention: TLS files, backups, disk space, log files, trace export, vault, first sign-in
   * (scope `admin`). The answering instance's checks; on a node of several instances also every other live instance's
   * (`others`, and `unanswered`), unless `instances: "this"`.
   */
  doctor(query?: DoctorQueryInput): Promise<DoctorResponse>;
  services: {
    /** `created` is true when the registry answered 201 (new), false for 200 (re-registration). */
    register(input: ServiceRegistrationInput): Promise<{ service: ServiceRecord; created: boolean }>;
    /**
     * Registers up to 1000 services in one request (`POST /api/services/bulk`), all or none: one result per entry, in
     * order (`created`, `updated`, or `unchanged`). A refused entry refuses the batch (its index in the error).
     */
    registerMany(registrations: ServiceRegistrationInput[]): Promise<BulkRegistrationResponse>;
    /**
     * `registerMany` with the body already encoded: the UTF-8 JSON text `{"services":[…]}`. For a caller that encoded
     * its batches while checking them (the CLI's `services apply` does so on several threads); the node checks the
     * body exactly as `registerMany`'s.
     */
    registerManyEncoded(body: Uint8Array): Promise<BulkRegistrationResponse>;
    /** One page; `sort` (`name`, `updated`, …) and `order` (`asc`/`desc`) sort on the node; pass `nextCursor` with the same sort. */
    list(query?: ListServicesQueryInput): Promise<ListServicesResponse>;
    /** Every matching service, page after page (follows `nextCursor`), in the node's order for `sort`/`order`. */
    listAll(query?: ServiceFilterInput & Pick<ListServicesQueryInput, "sort" | "order"> & { pageSize?: number }): AsyncIterable<ServiceRecord>;
    get(id: string): Promise<ServiceRecord>;
    update(id: string, patch: ServicePatchInput): Promise<ServiceRecord>;
    heartbeat(id: string, body?: HeartbeatRequest): Promise<HeartbeatResponse>;
    remove(id: string): Promise<void>;
    /**
     * Deregisters up to 1000 services in one request (`POST /api/services/bulk-delete`), all or none, each by `remove`'s
     * rules: one result per id, in order, `removed` or `absent` (no record you can see: already gone). Another owner's
     * service, a record imported from a peer, or an id named twice refuses the batch (its index in the error).
     */
    removeMany(ids: string[]): Promise<BulkDeregistrationResponse>;
    /** Probes the service live through its connector (health and models); scope services:read. */
    check(id: string): Promise<ServiceCheckResponse>;
  };
  tokens: {
    create(input: CreateTokenRequestInput): Promise<CreateTokenResponse>;
    list(): Promise<TokenInfo[]>;
    revoke(id: string): Promise<void>;
  };
  vault: VaultClient;
  /** Signing in and out, who am I, sessions, the security log. */
  auth: AuthClient;
  /** Users (scope `admin`). */
  users: UsersClient;
  /** The signed-in user's own profile, password and personal tokens. */
  me: MeClient;
  /** Roles: named sets of scopes (listing: any user; changes: scope `admin`). */
  roles: RolesClient;
  /** The signed-in user's second factors (TOTP, recovery codes, passkeys). */
  mfa: MfaClient;
  /** Passkeys: WebAuthn options and answers for passwordless sign-in, the second factor, and registering one. */
  passkeys: PasskeyClient;
  /** The node's effective configuration, secrets redacted (scope `admin`). */
  config: ConfigClient;
  /** Calling services through the gateway (token scope `gateway:invoke`). */
  gateway: GatewayClient;
  /** Federation peers (token scope `federation:admin`). */
  peers: PeersClient;
  /** The node's recent log lines and their live stream, already redacted (scope `admin`). */
  logs: LogsClient;
  /** What the node measured of its gateway traffic: now, the last hour, one service's activity. */
  observations: ObservationsClient;
  /** The node's KLP administration (scope `admin`). */
  klp: KlpClient;
  /** kPlanner: a goal into a validated plan of steps across agents, tools and gateway capabilities (scope `tasks:run`). */
  planner: PlannerClient;
  /** The agent directory: agents registered by signed manifest, their status (scopes `agents:read`, `agents:write`). */
  agents: AgentsClient;
  /** kCore's tasks: create (planned, or one step for an agent or capability), get, list, cancel, answer, wait (scopes `tasks:run`, `agents:read`). */
  tasks: TasksClient;
  /** The prompt store: versions, labels, diff, restore, search, render, a stale-tolerant cache (scopes `prompts:read`, `prompts:write`). */
  prompts: PromptsClient;
  /** Semantic memory: add, search by meaning with metadata filters, delete (scopes `memory:read`, `memory:write`). */
  memory: MemoryClient;
  /** Artifact storage: streamed upload, download with ranges, list, delete, share links (scopes `artifacts:read`, `artifacts:write`). */
  artifacts: ArtifactsClient;
  /** The orchestration bus as a live stream: task progress, agent results, registry changes (scope `agents:read`). */
  events: EventsClient;
  /** Plugins: the plugin folders' listing with trust levels and problems, one plugin, a rescan (scope `plugins:admin`). */
  plugins: PluginsClient;
  /** Backups: take, list, verify (scope `backup:admin`). */
  backups: BackupsClient;
  /** A live view of the registry on a connection of its own (closed with the watcher). */
  watch(options: WatchOptions): Watcher;
  /**
   * One connection for many watchers: `stream.watch(options)` adds a subscription to it, and a change that
   * concerns several arrives once. `reconnect` and `pingIntervalMs` are the stream's; a watcher's own are ignored.
   */
  registryStream(options?: RegistryStreamOptions): RegistryStream;
}

/** An agent's KLP key: the 32-byte Ed25519 seed (bytes or base64url), and optionally the DID to sign in as. */
export interface AgentKey {
  did?: string;
  seed?: Uint8Array | string;
  /** The same as `seed` (the RFC 8032 private key is the seed). */
  privateKey?: Uint8Array | string;
}

/**
 * Sign-in. Failures arrive as `KaiApiError` with the stable codes `invalid_credentials`, `mfa_required` (send
 * the password again with `code`, `recoveryCode` or `passkey`), `password_change_required` (again with
 * `newPassword`), `account_disabled`, `login_throttled` (`retryAfterSeconds`), `session_revoked`.
 */
export interface AuthClient {
  /** `POST /api/auth/login`; on success this client uses the new session from then on. */
  login(request: LoginRequestInput): Promise<LoginResponse>;
  /** A one-time challenge for an agent's DID (`POST /api/auth/challenge`). */
  challenge(did: string): Promise<ChallengeResponse>;
  /** Challenge, Ed25519 signature over its message with the agent's key, login; the client then uses the session. */
  signInAsAgent(key: AgentKey): Promise<LoginResponse>;
  /** The single sign-on providers the server offers (`GET /api/auth/sso/providers`): id and display name. */
  ssoProviders(): Promise<SsoProviderInfo[]>;
  /**
   * The URL that starts a sign-in with `provider` in a browser. `{ returnTo }`: the browser's own cookie session.
   * `{ redirect, challenge }` (programs, RFC 8252): the browser ends at `redirect` (a loopback address) with
   * `?code=`, to trade with `ssoExchange`; `challenge` comes from `createSsoVerifier()`.
   */
  ssoStartUrl(provider: string, options?: SsoStartOptions): string;
  /** Trades the one-time code (valid one minute, once) and the verifier for a session; this client uses it from then on. */
  ssoExchange(request: SsoExchangeRequest): Promise<LoginResponse>;
  /** Rotates the refresh token (the client's own unless one is given) and takes the new tokens. */
  refresh(refreshToken?: string): Promise<LoginResponse>;
  /** Ends the session on the server (its refresh token is useless from then on) and forgets it here. */
  logout(): Promise<void>;
  /** Who the caller is, with which scopes, until when (`GET /api/auth/validate`). */
  validate(): Promise<ValidateResponse>;
  sessions: {
    /** The caller's own sessions, newest first (`current` marks the one in use). */
    list(): Promise<Session[]>;
    /** Ends one of the caller's sessions, or anyone's (scope `admin`). */
    revoke(id: string): Promise<void>;
  };
  /** The security log, newest first (scope `admin`); `before` pages back from `nextBefore`. */
  securityEvents(query?: { limit?: number; before?: number; type?: string; userId?: string }): Promise<ListSecurityEventsResponse>;
}

export interface UsersClient {
  list(query?: { limit?: number; cursor?: string }): Promise<ListUsersResponse>;
  /** Every user, page after page. */
  listAll(query?: { pageSize?: number }): AsyncIterable<User>;
  create(input: CreateUserRequestInput): Promise<User>;
  /** By id. */
  get(id: string): Promise<User>;
  /** Roles, state (disable / enable), display name, a password reset. */
  update(id: string, patch: UpdateUserRequest): Promise<User>;
  remove(id: string): Promise<void>;
  /** A user's sessions (admin). */
  sessions(id: string): Promise<Session[]>;
}

export interface MeClient {
  get(): Promise<User>;
  update(patch: UpdateProfileRequest): Promise<User>;
  /** Changes the password; the user's other sessions end. */
  changePassword(request: ChangePasswordRequest): Promise<void>;
  /** A personal API token, never holding more than the user's roles allow. */
  createToken(input: Omit<CreateTokenRequestInput, "owner">): Promise<CreateTokenResponse>;
  /** The caller's own personal tokens (`GET /api/users/me/tokens`; never their secret). */
  tokens(): Promise<TokenInfo[]>;
  /** Revokes one of the caller's personal tokens (`DELETE /api/users/me/tokens/{id}`); it stops working at once. */
  revokeToken(id: string): Promise<void>;
}

export interface RolesClient {
  list(): Promise<Role[]>;
  /** Creates or replaces a custom role (built-in roles cannot be changed). */
  put(name: string, role: PutRoleRequest): Promise<Role>;
  remove(name: string): Promise<void>;
}

/**
 * Second factors. `proof` is one current factor (`{ code }`, `{ recoveryCode }` or `{ passkey }`), required for
 * changes once the user has any factor; a wrong one is `invalid_credentials` and counts in the sign-in throttle.
 */
export interface MfaClient {
  status(): Promise<MfaStatus>;
  totp: {
    /** Starts (or restarts) an enrolment: the secret, the otpauth URI and its QR code, shown once. */
    enrol(proof?: SecondFactorProof): Promise<TotpEnrolResponse>;
    /** The first code from the authenticator app; the first factor also brings recovery codes (shown once). */
    confirm(code: string): Promise<TotpConfirmResponse>;
    disable(proof: SecondFactorProof): Promise<void>;
  };
  /** A new set of recovery codes (shown once); the old set stops working. */
  regenerateRecoveryCodes(proof: SecondFactorProof): Promise<string[]>;
  passkeys: {
    list(): Promise<Passkey[]>;
    remove(id: string, proof: SecondFactorProof): Promise<void>;
  };
  /** Admin: removes every factor of another user (a lost phone); scope `admin`. */
  reset(userId: string): Promise<void>;
}

/** `client.config` (scope `admin`). */
export interface ConfigClient {
  /** `GET /api/config`: every effective setting, secrets replaced by `[redacted]` (their paths in `redacted`); with `agent`, that agent's view. */
  get(options?: { agent?: string }): Promise<NodeConfigResponse>;
  /** `GET /api/config/explain`: one key's value in every layer, the winning layer, its lock, whether it can change live; with `agent`, in that agent's view. */
  explain(key: string, options?: { agent?: string }): Promise<ConfigExplainResponse>;
  /** `PATCH /api/config`: runtime-layer values by dotted key (`null` removes one), all or nothing; the effective changes. */
  set(settings: Record<string, unknown>): Promise<ConfigPatchResponse>;
}

/**
 * Passkeys (WebAuthn). The options go to the browser (`navigator.credentials.get/create`, e.g. through
 * @simplewebauthn/browser) and its JSON answer comes back here with the options' `challengeId`.
 */
export interface PasskeyClient {
  /** A sign-in challenge (`POST /api/auth/passkey/options`, no authentication): for `signIn`, or as the second factor of `auth.login` (`passkey: {challengeId, response}`). */
  signInOptions(): Promise<WebAuthnOptionsResponse>;
  /** Passwordless sign-in (`POST /api/auth/passkey/login`); this client uses the new session from then on. */
  signIn(request: PasskeyLoginRequestInput): Promise<LoginResponse>;
  /** Starts registering a passkey for the signed-in user; `proof` once they have a factor. */
  registrationOptions(proof?: SecondFactorProof): Promise<WebAuthnOptionsResponse>;
  /** Registers the browser's answer; the user's first factor also brings recovery codes (shown once). */
  register(request: RegisterPasskeyRequest): Promise<RegisterPasskeyResponse>;
}

export interface KlpClient {
  /**
   * A grant signed by this node that lets the key `for` (a DID) register a service over KLP with its own key
   * (`klp:register` unless other capabilities are given); `ttl` in seconds (default 30 days).
   */
  grant(input: klp.KlpGrantRequestInput): Promise<klp.KlpTokenGrant>;
}

/** The federation peers this node imports public records from. Errors: `peer_unreachable`, `peer_identity_mismatch`, `not_found`. */
export interface PeersClient {
  /** Adds a peer (or updates it); without `did`, the server pins the DID the peer's node document names. */
  add(input: klp.AddPeerRequest): Promise<{ peer: klp.PeerInfo; created: boolean }>;
  list(): Promise<klp.PeerInfo[]>;
  get(did: string): Promise<klp.PeerInfo>;
  /** Withdraws trust (records dropped, link cut; the peer stays listed) or gives it back. */
  setTrusted(did: string, trusted: boolean): Promise<klp.PeerInfo>;
  remove(did: string): Promise<void>;
  /** Pulls from every connected peer now; resolves with their state once each is caught up. */
  sync(): Promise<klp.PeerInfo[]>;
  /**
   * The nodes heard on the LAN by mDNS (`federation.mdns`); `waitMs` asks the LAN again and waits that long first.
   * Announcements are unauthenticated: add one with its `did`, so that a node that is someone else is refused.
   */
  discovered(options?: { waitMs?: number }): Promise<klp.DiscoveredPeerListResponse>;
}

/**
 * The credential vault. Scopes: `vault:read` (read, list, decrypt), `vault:write` (put, delete, encrypt,
 * rewrap), `vault:admin` (unlock, lock, rekey, rotate, init), `admin` (audit). Errors arrive as
 * `KaiApiError` with codes such as `vault_locked`, `invalid_passphrase`, `decryption_failed`.
 */
export interface VaultClient {
  status(): Promise<VaultStatus>;
  /** Without a passphrase: the development default (random key file, auto-unlock). */
  init(passphrase?: string): Promise<VaultStatus>;
  /** Without a passphrase: a key-file vault (development default) unlocks from its key file, e.g. after `lock()`. */
  unlock(passphrase?: string): Promise<VaultStatus>;
  lock(): Promise<VaultStatus>;
  /** New passphrase for the keyring; without one, back to the development key file. */
  rekey(newPassphrase?: string): Promise<VaultStatus>;
  rotate(): Promise<RotateResponse>;
  putSecret(name: string, value: string, options?: Omit<PutSecretRequest, "value">): Promise<SecretInfo>;
  getSecret(name: string): Promise<SecretValueResponse>;
  /** Names and metadata, never values. */
  listSecrets(): Promise<SecretInfo[]>;
  deleteSecret(name: string): Promise<void>;
  /** Transit: `kai:v<N>:…`; `associatedData` must be given again to decrypt. */
  encrypt(plaintext: string, associatedData?: string): Promise<EncryptResponse>;
  decrypt(ciphertext: string, associatedData?: string): Promise<string>;
  /** Re-encrypts under the current key version (after a rotation) without returning the plaintext. */
  rewrap(ciphertext: string, associatedData?: string): Promise<EncryptResponse>;
  audit(query?: AuditQueryInput): Promise<AuditEntry[]>;
  verifyAudit(): Promise<AuditVerifyResponse>;
}

export type WatcherState = "connecting" | "open" | "reconnecting" | "closed";

export interface WatchOptions {
  filter?: ServiceFilterInput;
  /**
   * Resume after this revision instead of starting with a snapshot. The local `services` view then
   * starts empty and only holds what changes from here on.
   */
  fromRevision?: number;
  /**
   * The registry epoch `fromRevision` belongs to (`watcher.epoch` of an earlier watcher). With it, a resume
   * against a registry whose history restarted (wiped data, another node) becomes a fresh snapshot instead
   * of a "resumed" that silently skipped everything.
   */
  epoch?: string;
  onSnapshot?(message: SnapshotMessage): void;
  onEvent?(message: EventMessage): void;
  onResumed?(revision: number): void;
  onError?(error: Error): void;
  onStateChange?(state: WatcherState): void;
  /** Exponential backoff with jitter between reconnect attempts; default 250 ms .. 10 s. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /**
   * Interval of `ping` messages; a connection silent for two intervals is considered dead and replaced.
   * Default 25 000 ms; 0 turns pings off.
   */
  pingIntervalMs?: number;
  signal?: AbortSignal;
}

/** The connection-level settings of a registry stream (`client.registryStream()`). */
export interface RegistryStreamOptions {
  /** Exponential backoff with jitter between reconnect attempts; default 250 ms .. 10 s. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** Interval of `ping` messages; a connection silent for two intervals is replaced. Default 25 000 ms; 0: none. */
  pingIntervalMs?: number;
  /** Errors of the connection (each watcher's `onError` hears them too). */
  onError?(error: Error): void;
  onStateChange?(state: WatcherState): void;
  /** Aborting closes the stream and every watcher on it. */
  signal?: AbortSignal;
}

/** One `/ws/registry` connection carrying many watchers. */
export interface RegistryStream {
  /** Adds a watcher (its own filter, resume point and callbacks) to this connection. */
  watch(options: WatchOptions): Watcher;
  readonly state: WatcherState;
  /** Watchers open on it. */
  readonly size: number;
  /** Closes the connection and every watcher on it. */
  close(): void;
}

export interface Watcher {
  /** The highest registry revision applied (or reported by `progress`); resumes start after it. */
  readonly revision: number;
  /** The registry epoch `revision` belongs to; pass it with `fromRevision` when resuming in a later watcher. */
  readonly epoch: string | undefined;
  /**
   * Current view, kept from the snapshot and the events: id → record, and `id@origin` → record for records
   * imported from federation peers (filter `location: "remote" | "all"` or `origin`).
   */
  readonly services: ReadonlyMap<string, ServiceRecord>;
  readonly state: WatcherState;
  close(): void;
  /** Resolves after the first snapshot or `resumed`; rejects if the watcher stops before that. */
  ready: Promise<void>;
}

/** A definition the agent registers: a registration with a fixed id, so that it can find itself again. */
export type AgentDefinition = ServiceRegistrationInput & { id: string };

export interface AgentOptions {
  /** Default: a third of the definition's `ttl` (so two heartbeats may be lost), or 30 s without a ttl. */
  heartbeatIntervalMs?: number;
  /** Failed heartbeats and re-registrations; the agent keeps trying at the next interval. */
  onError?(error: Error): void;
}

export interface Agent {
  /** Registers the service and starts heartbeats. */
  start(): Promise<ServiceRecord>;
  /** Re-registers when the definition changed (deep comparison); otherwise does nothing. */
  update(definition: AgentDefinition): Promise<ServiceRecord>;
  /** Stops heartbeats and, unless `deregister: false`, removes the service from the registry. */
  stop(options?: { deregister?: boolean }): Promise<void>;
  readonly registered: ServiceRecord | null;
}

/** Which service answered a gateway call, how many upstream calls it took, and what the gateway added. */
export interface ServedInfo {
  /** The service that answered, in the shape `route()` answers (`RouteResponse.servedBy`). */
  servedBy: ServedBy;
  /** The same as `servedBy.id`. */
  serviceId: string;
  attempts: number;
  overheadMs: number;
  requestId?: string;
  /** The trace the call joined, on a node with tracing on (its `traceresponse` header): its spans and log lines. */
  traceId?: string;
}

export interface GatewayCallOptions {
  routingHints?: RoutingHints;
  /** Cancels the call; the gateway cancels the upstream request too. */
  signal?: AbortSignal;
  /** Default 300 s: models can be slow. */
  timeoutMs?: number;
}

/** A chat stream: iterate for chunks; throws `KaiApiError` if the stream breaks instead of ending early. */
export type GatewayStream = AsyncIterable<ChatCompletionChunk> & ServedInfo;

export interface GatewayClient {
  chat(request: ChatCompletionRequest, options?: GatewayCallOptions): Promise<{ completion: ChatCompletion } & ServedInfo>;
  chatStream(request: ChatCompletionRequest, options?: GatewayCallOptions): Promise<GatewayStream>;
  embeddings(request: EmbeddingRequest, options?: GatewayCallOptions): Promise<{ embeddings: EmbeddingResponse } & ServedInfo>;
  /** Image generation (`/v1/images/generations`): A1111, ComfyUI and OpenAI-style services. */
  images(request: ImageGenerationRequest, options?: GatewayCallOptions): Promise<{ images: ImageGenerationResponse } & ServedInfo>;
  /** Models across the services the token may see (`<serviceId>/<model>` ids pin a service); only those of services offering `capability`, when given. */
  models(options?: { signal?: AbortSignal; capability?: string }): Promise<ModelEntry[]>;
  /** The node's provider connectors and, per operation, the request parameters each honours (`GET /api/connectors`). */
  connectors(options?: { signal?: AbortSignal }): Promise<ConnectorInfo[]>;
  /** The generic form: any capability, the provider-neutral request, optional hints. */
  route(capability: string, request: unknown, options?: GatewayCallOptions & { operation?: string }): Promise<RouteResponse>;
}
