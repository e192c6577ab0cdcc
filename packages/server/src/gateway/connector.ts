/**
 * @module gateway/connector
 * The one contract every provider connector implements. A connector turns OpenAI-shaped requests into
 * one provider's wire format and back, and nothing more: no retries, no failover, no credential lookup
 * (the router owns all three, so there is exactly one retry loop and one place that sees the vault).
 * Every failure surfaces as an `UpstreamError` with a stable code; a stream that breaks after its first
 * byte throws from the iterator instead of ending as if it were complete.
 *
 * Connectors are not only for LLMs: image generation, vector storage, workflow orchestration and audio
 * transcription use the same contract. Every operation method is optional and listed in `operations`;
 * only `listModels` and `health` are required of all (a provider without models answers `[]`). Each connector also
 * declares which request parameters it honours per operation (`parameters`).
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ImageEditRequest,
  ImageGenerationRequest,
  ImageGenerationResponse,
  TranscriptionRequest,
  TranscriptionResponse,
  Usage,
  VectorCollectionCreateRequest,
  VectorCollectionList,
  VectorDeleteRequest,
  VectorQueryRequest,
  VectorQueryResponse,
  VectorUpsertRequest,
  VectorWriteResult,
  WorkflowList,
  WorkflowRunRequest,
  WorkflowRunResponse,
  ConnectorOperation,
} from "@kai/protocol";
import type { Cancellable } from "./cancel-signal.js";
import type { ConnectorParameters } from "./connectors/parameters.js";

/** The operations a connector can offer (one list, in @kai/protocol); the router only sends a connector what it lists. */
export type { ConnectorOperation };

/** The method(s) each operation stands for; `vector_collections` covers listing, creating and deleting. */
export const OPERATION_METHODS: Readonly<Record<ConnectorOperation, readonly (keyof Connector)[]>> = {
  chat: ["chat"],
  chat_stream: ["chatStream"],
  completions: ["completions"],
  embeddings: ["embeddings"],
  images: ["images"],
  images_edit: ["imagesEdit"],
  models: ["listModels"],
  transcriptions: ["transcriptions"],
  vector_collections: ["listCollections", "createCollection", "deleteCollection"],
  vector_upsert: ["upsertPoints"],
  vector_query: ["queryPoints"],
  vector_delete: ["deletePoints"],
  workflow_run: ["runWorkflow"],
  workflows: ["listWorkflows"],
};

/** Where and as whom to call: resolved per request by the caller (the router reads the vault). */
export interface UpstreamTarget {
  /** Base URL of the service, e.g. `http://127.0.0.1:11434` or `https://api.openai.com`; no trailing path needed. */
  readonly baseUrl: string;
  /** The resolved credential value. Sent only in the provider's auth header; never logged or echoed in errors. */
  readonly credential?: string;
  /**
   * Extra headers: what the service record asks for (e.g. an organisation id), and the credential itself when the
   * record names its own header (`auth.header`) or HTTP Basic. Their values are scrubbed from provider error text.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Minimal structured logger (pino satisfies it). Connectors log method, path, status and latency — never headers or bodies. */
export interface ConnectorLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Per-call options. */
export interface CallContext {
  /** The service to call. */
  readonly target: UpstreamTarget;
  /** Aborted when the client goes away or the router's overall deadline passes; the upstream request is cancelled at once. */
  readonly signal?: AbortSignal;
  /**
   * The same cancellation as `signal`, in a form that costs nothing to listen to (the router passes both; `signal`
   * is then created only if a connector reads it). The upstream layer (`upstream/call-abort.ts`) prefers it when present.
   */
  readonly cancel?: Cancellable;
  /** Longest wait for the upstream's response headers (and, for non-streaming calls, the whole body). Default 60 000 ms. */
  readonly timeoutMs?: number;
  /** Longest silence between two stream chunks before the stream counts as stalled. Default 30 000 ms. */
  readonly idleTimeoutMs?: number;
  /**
   * Most bytes one upstream answer may take in memory: a whole non-streaming body, or one SSE event / NDJSON line of a
   * stream (a stream's total length is not limited). Beyond it the call fails with `upstream_invalid_response`.
   * Default 64 MiB (`DEFAULT_MAX_RESPONSE_BYTES`).
   */
  readonly maxResponseBytes?: number;
  /** Our request id, forwarded upstream as `X-Request-Id` so logs on both sides line up. */
  readonly requestId?: string;
  /** Where to log; silent when absent. */
  readonly logger?: ConnectorLogger;
}

/** A finished non-streaming call: the OpenAI-shaped body plus what the router records. */
export interface ConnectorResult<T> {
  /** The response, already in OpenAI shape. */
  readonly data: T;
  /** Token usage when the provider reports it. */
  readonly usage?: Usage;
  /** Wall time from sending the request to having the full, parsed body, in ms. */
  readonly latencyMs: number;
  /**
   * The provider's own JSON text of `data`, when sending it is the same answer as serialising `data`
   * (`relayableText`, upstream/upstream-text.ts): the front door then writes these bytes as they are.
   */
  readonly text?: string;
}

/** The wire text of the chunk a stream yielded last (see `ConnectorStream.lastChunk`). */
export interface ChunkText {
  /** The provider's own JSON text of that chunk when it can be relayed as it is; undefined: serialise the chunk. */
  readonly text?: string;
}

/**
 * A live stream. Obtaining it means the upstream answered with a success status (before this point the
 * router may still fail over freely). Iterating yields OpenAI-shaped chunks in upstream order; it throws an
 * `UpstreamError` if the stream breaks, stalls or ends without the provider's end marker.
 */
export interface ConnectorStream extends AsyncIterable<ChatCompletionChunk> {
  /** Time from sending the request to the response headers, in ms. */
  readonly headersLatencyMs: number;
  /** Usage as reported by the provider at the end of the stream; undefined until the stream completed (or if never reported). */
  usage(): Usage | undefined;
  /**
   * The chunk last yielded, as the provider wrote it: read it right after each `next()`. One object per stream that
   * the connector updates as it yields, rather than a wrapper around every chunk.
   */
  readonly lastChunk: ChunkText;
  /** Stops reading and closes the upstream connection. Safe to call more than once. */
  cancel(): void;
}

/** Outcome of a health probe; never throws. */
export interface HealthResult {
  /** True when the provider answered its health endpoint with success. */
  readonly ok: boolean;
  /** Round-trip time of the probe, in ms. */
  readonly latencyMs: number;
  /** Error code when not ok (an `ErrorCode`), for the breaker and the operator. */
  readonly code?: string;
  /** Short human-readable reason when not ok; never contains the credential. */
  readonly message?: string;
}

/** A model the provider says it serves. */
export interface ProviderModel {
  /** The id to put in `model` when calling this provider. */
  readonly id: string;
  /** Who owns it, when the provider says. */
  readonly ownedBy?: string;
}

/** A provider connector. Stateless: one instance serves every service of its kind. */
export interface Connector {
  /** Stable id used in service records and in `connectors/index.ts` (e.g. `openai`, `ollama`). */
  readonly id: string;
  /** Human-readable provider name. */
  readonly displayName: string;
  /** What this connector can do; calling an operation not listed here is a programming error. */
  readonly operations: ReadonlySet<ConnectorOperation>;
  /**
   * Per operation, the request parameters this connector really honours (maps into its provider's wire format, or
   * applies itself) and the provider-specific extras it forwards (`connectors/parameters.ts`). `GET /api/connectors`
   * publishes them so a client offers a service only the parameters that reach its provider. An operation absent
   * here takes no tuning parameters.
   */
  readonly parameters: ConnectorParameters;
  /** Non-streaming chat completion. */
  chat?(request: ChatCompletionRequest, context: CallContext): Promise<ConnectorResult<ChatCompletion>>;
  /** Streaming chat completion; resolves once the upstream accepted the request (see `ConnectorStream`). */
  chatStream?(request: ChatCompletionRequest, context: CallContext): Promise<ConnectorStream>;
  /** Legacy text completion (non-streaming). */
  completions?(request: CompletionRequest, context: CallContext): Promise<ConnectorResult<Completion>>;
  /** Embeddings. */
  embeddings?(request: EmbeddingRequest, context: CallContext): Promise<ConnectorResult<EmbeddingResponse>>;
  /** Image generation (text to image). */
  images?(request: ImageGenerationRequest, context: CallContext): Promise<ConnectorResult<ImageGenerationResponse>>;
  /** Image edit / image to image. */
  imagesEdit?(request: ImageEditRequest, context: CallContext): Promise<ConnectorResult<ImageGenerationResponse>>;
  /** Audio transcription (speech to text). */
  transcriptions?(request: TranscriptionRequest, context: CallContext): Promise<ConnectorResult<TranscriptionResponse>>;
  /** Vector storage: the collections the service holds. */
  listCollections?(context: CallContext): Promise<ConnectorResult<VectorCollectionList>>;
  /** Vector storage: creates a collection; `upstream_conflict` when it exists. */
  createCollection?(request: VectorCollectionCreateRequest, context: CallContext): Promise<ConnectorResult<VectorWriteResult>>;
  /** Vector storage: deletes a collection; `upstream_not_found` when there is none. */
  deleteCollection?(name: string, context: CallContext): Promise<ConnectorResult<VectorWriteResult>>;
  /** Vector storage: inserts or replaces points. */
  upsertPoints?(request: VectorUpsertRequest, context: CallContext): Promise<ConnectorResult<VectorWriteResult>>;
  /** Vector storage: the `k` points nearest a vector, nearest first. */
  queryPoints?(request: VectorQueryRequest, context: CallContext): Promise<ConnectorResult<VectorQueryResponse>>;
  /** Vector storage: deletes points by id and/or filter. */
  deletePoints?(request: VectorDeleteRequest, context: CallContext): Promise<ConnectorResult<VectorWriteResult>>;
  /** Workflow orchestration: runs a workflow and returns what it answered. */
  runWorkflow?(request: WorkflowRunRequest, context: CallContext): Promise<ConnectorResult<WorkflowRunResponse>>;
  /** Workflow orchestration: the workflows the service has. */
  listWorkflows?(context: CallContext): Promise<ConnectorResult<WorkflowList>>;
  /** The models the provider lists right now. */
  listModels(context: CallContext): Promise<ProviderModel[]>;
  /** Cheap liveness probe of the provider's health endpoint. */
  health(context: CallContext): Promise<HealthResult>;
}

/** A chat connector (OpenAI, Anthropic, Ollama, …): chat and streaming chat are always there. */
export type ChatConnector = Connector & Required<Pick<Connector, "chat" | "chatStream">>;
