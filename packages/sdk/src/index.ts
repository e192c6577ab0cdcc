/**
 * @module @kai/sdk
 * Typed client of the kAI service registry for Node 20+ and browsers: the REST API, a resuming watch
 * stream, and an agent helper that keeps a service registered. Data types come from @kai/protocol.
 */
export { createClient } from "./client.js";
export { createAgent } from "./agent.js";
export { KaiApiError, KaiConnectionError, isAuthError, type KaiApiErrorInit } from "./errors.js";
export { backoffDelay } from "./backoff.js";
export { inspectNode, type NodeIdentity } from "./peers.js";
export type {
  Agent,
  AgentDefinition,
  AgentOptions,
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
  Watcher,
  WatcherState,
} from "./types.js";
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
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
} from "@kai/protocol";
