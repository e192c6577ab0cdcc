/**
 * @module @kai/sdk
 * Typed client of the kAI service registry for Node 20+ and browsers: the REST API, a resuming watch
 * stream, an agent helper that keeps a service registered, and sign-in sessions that renew themselves.
 * Data types come from @kai/protocol.
 */
export { createClient } from "./client.js";
export { createAgent } from "./agent.js";
export { KaiApiError, KaiConnectionError, isAuthError, type KaiApiErrorInit } from "./errors.js";
export { describeConnectionFailure, UNTRUSTED_CERTIFICATE_CODES } from "./connection-failure.js";
export { backoffDelay } from "./backoff.js";
export { inspectNode, type NodeIdentity } from "./peers.js";
export type { LogsClient, LogStreamEvent } from "./logs.js";
export type { ObservationsClient } from "./observations.js";
export type { PlannerClient } from "./planner.js";
export type { TasksClient, WaitOptions as TaskWaitOptions } from "./tasks.js";
export type { CachedPrompt, PromptSelection, PromptsClient } from "./prompts.js";
export type { MemoryClient, MemorySearchOptions } from "./memory.js";
export type { ArtifactDownload, ArtifactsClient, ArtifactThumbnail, DownloadOptions as ArtifactDownloadOptions, UploadOptions as ArtifactUploadOptions } from "./artifacts.js";
export type { BusStreamItem, EventsClient, EventStreamOptions } from "./events.js";
export type { PluginsClient } from "./plugins.js";
export type { BackupDownload, BackupsClient } from "./backups.js";
export type { SessionTokens } from "./session.js";
export { createSsoVerifier, ssoChallengeOf, type SsoStartOptions, type SsoVerifier } from "./sso.js";
export type {
  Agent,
  AgentDefinition,
  AgentKey,
  AgentOptions,
  AuthClient,
  MeClient,
  MfaClient,
  ConfigClient,
  PasskeyClient,
  RolesClient,
  UsersClient,
  ClientOptions,
  GatewayCallOptions,
  GatewayClient,
  GatewayStream,
  KaiClient,
  KlpClient,
  PeersClient,
  ServedInfo,
  VaultClient,
  WatchOptions,
  RegistryStream,
  RegistryStreamOptions,
  Watcher,
  WatcherState,
} from "./types.js";
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ConnectorInfo,
  ConnectorOperationInfo,
  OperationParameters,
  EmbeddingRequest,
  EmbeddingResponse,
  ImageGenerationRequest,
  ImageGenerationResponse,
  LogEntry,
  LogLevel,
  LogListResponse,
  ModelEntry,
  RouteResponse,
  RoutingHints,
  ServiceCheckResponse,
  AuditEntry,
  AuditQueryInput,
  AuditVerifyResponse,
  CreateTokenRequestInput,
  CreateTokenResponse,
  EventMessage,
  ErrorCode,
  FieldError,
  HeartbeatRequest,
  HeartbeatResponse,
  ListServicesQueryInput,
  ListServicesResponse,
  ServiceFilterInput,
  ServicePatchInput,
  ServiceRecord,
  ServiceRegistrationInput,
  SnapshotMessage,
  StatusResponse,
  MetricsSummary,
  ServiceActivity,
  TrafficMinute,
  TrafficTotals,
  RecentError,
  ClusterResponse,
  ClusterInstance,
  ClusterSummary,
  TokenInfo,
  EncryptResponse,
  PutSecretRequest,
  RotateResponse,
  SecretInfo,
  SecretValueResponse,
  VaultStatus,
  ChallengeResponse,
  ChangePasswordRequest,
  CreateUserRequestInput,
  ListSecurityEventsResponse,
  ListUsersResponse,
  LoginRequestInput,
  LoginResponse,
  PutRoleRequest,
  SsoExchangeRequest,
  SsoProviderInfo,
  Role,
  SecurityEvent,
  Session,
  UpdateProfileRequest,
  UpdateUserRequest,
  User,
  UserPreferences,
  ValidateResponse,
  MfaStatus,
  Passkey,
  SecondFactorProof,
  TotpConfirmResponse,
  TotpEnrolResponse,
  NodeConfigResponse,
  WebAuthnOptionsResponse,
  RegisterPasskeyResponse,
} from "@kai/protocol";
