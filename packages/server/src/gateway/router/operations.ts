/**
 * @module gateway/router/operations
 * The routable operations: for each, the request and response types, the capability a service must
 * declare to be a candidate, whether the requested model narrows the candidates, whether it may be retried
 * after it may have reached the provider, and how to invoke it on a connector. Streaming chat is separate
 * (`routeStream`), because its result is a live stream.
 */
import type {
  ChatCompletion,
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
  VectorDeleteRequest,
  VectorQueryRequest,
  VectorQueryResponse,
  VectorUpsertRequest,
  VectorWriteResult,
  WorkflowRunRequest,
  WorkflowRunResponse,
} from "@kai/protocol";
import type { CallContext, Connector, ConnectorOperation, ConnectorResult } from "../connector.js";

/** Request and response of every operation `route` serves. */
export interface OperationTypes {
  chat: { request: ChatCompletionRequest; response: ChatCompletion };
  completions: { request: CompletionRequest; response: Completion };
  embeddings: { request: EmbeddingRequest; response: EmbeddingResponse };
  images: { request: ImageGenerationRequest; response: ImageGenerationResponse };
  images_edit: { request: ImageEditRequest; response: ImageGenerationResponse };
  transcriptions: { request: TranscriptionRequest; response: TranscriptionResponse };
  vector_upsert: { request: VectorUpsertRequest; response: VectorWriteResult };
  vector_query: { request: VectorQueryRequest; response: VectorQueryResponse };
  vector_delete: { request: VectorDeleteRequest; response: VectorWriteResult };
  workflow_run: { request: WorkflowRunRequest; response: WorkflowRunResponse };
}

export type RouteOperation = keyof OperationTypes;
export type RequestOf<O extends RouteOperation> = OperationTypes[O]["request"];
export type ResponseOf<O extends RouteOperation> = OperationTypes[O]["response"];

/** The capability each operation needs (streaming chat needs `llm_chat` like chat). */
export const OPERATION_CAPABILITY: Readonly<Record<RouteOperation | "chat_stream", string>> = {
  chat: "llm_chat",
  chat_stream: "llm_chat",
  completions: "llm_completion",
  embeddings: "embeddings",
  images: "image_generation",
  images_edit: "image_generation",
  transcriptions: "audio_transcription",
  vector_upsert: "vector_storage",
  vector_query: "vector_storage",
  vector_delete: "vector_storage",
  workflow_run: "workflow_orchestration",
};

/** Operations whose candidates must serve the requested `model`. */
export const MODEL_OPERATIONS: ReadonlySet<ConnectorOperation> = new Set<ConnectorOperation>(["chat", "chat_stream", "completions", "embeddings"]);

/**
 * Operations the router must not retry or fail over once the request may have reached the provider: they have side
 * effects (an n8n workflow sends mail, writes rows…), so a second attempt after a timeout or a 5xx could do the work
 * twice. A property of the operation, not of the error: the error's side is `nothingSent` in `ERROR_TABLE`
 * (@kai/protocol), and after such a failure (e.g. `upstream_unreachable`) retrying stays safe.
 */
export const UNSAFE_TO_RETRY: ReadonlySet<ConnectorOperation> = new Set<ConnectorOperation>(["workflow_run"]);

/** The default operation for a capability named in `POST /api/route/{capability}`. */
export const CAPABILITY_OPERATION: Readonly<Record<string, RouteOperation>> = {
  llm_chat: "chat",
  llm_completion: "completions",
  embeddings: "embeddings",
  image_generation: "images",
  audio_transcription: "transcriptions",
  vector_storage: "vector_query",
  workflow_orchestration: "workflow_run",
};

type Invoker<O extends RouteOperation> = (connector: Connector, request: RequestOf<O>, context: CallContext) => Promise<ConnectorResult<ResponseOf<O>>> | undefined;

/**
 * How to call each operation. Answers undefined when the connector lacks the method, which candidate
 * selection rules out beforehand (it checks `operations`); the executor treats it as a bug, not a fault.
 */
export const INVOKERS: { readonly [O in RouteOperation]: Invoker<O> } = {
  chat: (connector, request, context) => connector.chat?.(request, context),
  completions: (connector, request, context) => connector.completions?.(request, context),
  embeddings: (connector, request, context) => connector.embeddings?.(request, context),
  images: (connector, request, context) => connector.images?.(request, context),
  images_edit: (connector, request, context) => connector.imagesEdit?.(request, context),
  transcriptions: (connector, request, context) => connector.transcriptions?.(request, context),
  vector_upsert: (connector, request, context) => connector.upsertPoints?.(request, context),
  vector_query: (connector, request, context) => connector.queryPoints?.(request, context),
  vector_delete: (connector, request, context) => connector.deletePoints?.(request, context),
  workflow_run: (connector, request, context) => connector.runWorkflow?.(request, context),
};

/** The model a request names, if its operation has one. */
export function modelOf(request: unknown): string | undefined {
  const model = (request as { model?: unknown } | null)?.model;
  return typeof model === "string" && model.length > 0 ? model : undefined;
}
