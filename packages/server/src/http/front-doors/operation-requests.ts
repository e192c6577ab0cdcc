/**
 * @module http/front-doors/operation-requests
 * The request schema of every operation the generic front door (`POST /api/route/{capability}`) accepts,
 * and which operation a capability means when the caller names none. Transcriptions are left out on
 * purpose: audio travels as a multipart upload on `/v1/audio/transcriptions`, not inside JSON.
 */
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  EmbeddingRequestSchema,
  ImageEditRequestSchema,
  ImageGenerationRequestSchema,
  VectorDeleteRequestSchema,
  VectorQueryRequestSchema,
  VectorUpsertRequestSchema,
  WorkflowRunRequestSchema,
} from "@kai/protocol";
import { CAPABILITY_OPERATION, OPERATION_CAPABILITY, type RouteOperation } from "../../gateway/router/operations.js";

type JsonOperation = Exclude<RouteOperation, "transcriptions">;

export const OPERATION_REQUEST_SCHEMAS: { readonly [O in JsonOperation]: { safeParse(input: unknown): { success: boolean; data?: unknown; error?: unknown } } } = {
  chat: ChatCompletionRequestSchema,
  completions: CompletionRequestSchema,
  embeddings: EmbeddingRequestSchema,
  images: ImageGenerationRequestSchema,
  images_edit: ImageEditRequestSchema,
  vector_upsert: VectorUpsertRequestSchema,
  vector_query: VectorQueryRequestSchema,
  vector_delete: VectorDeleteRequestSchema,
  workflow_run: WorkflowRunRequestSchema,
};

/** Short names accepted in `operation` (`query` for `vector_query`, …) besides the full ones. */
const ALIASES: Readonly<Record<string, JsonOperation>> = {
  query: "vector_query",
  upsert: "vector_upsert",
  delete: "vector_delete",
  run: "workflow_run",
  edit: "images_edit",
  generate: "images",
};

export type OperationChoice = { ok: true; operation: JsonOperation } | { ok: false; message: string };

/** The operation for `capability`, checked against the capability it needs. */
export function chooseOperation(capability: string, requested: string | undefined): OperationChoice {
  const name = requested === undefined ? CAPABILITY_OPERATION[capability] : (ALIASES[requested] ?? requested);
  if (name === undefined) return { ok: false, message: `capability ${capability} has no default operation; name one in "operation"` };
  if (name === "transcriptions") return { ok: false, message: "send audio as a multipart upload to /v1/audio/transcriptions" };
  if (!(name in OPERATION_REQUEST_SCHEMAS)) return { ok: false, message: `unknown operation ${name}` };
  const operation = name as JsonOperation;
  const needs = OPERATION_CAPABILITY[operation];
  // A custom capability may be served by any connector operation (e.g. "summarise" by chat); a standard
  // capability must match what the operation needs, or the request could reach the wrong kind of service.
  if (needs !== capability && Object.values(OPERATION_CAPABILITY).includes(capability)) {
    return { ok: false, message: `operation ${operation} belongs to capability ${needs}, not ${capability}` };
  }
  return { ok: true, operation };
}
