/**
 * @module connectors
 * What each provider connector of a node accepts (`GET /api/connectors`): its operations and, per operation, the
 * request parameters it honours. The gateway validates every request with the shared OpenAI-shaped schemas, but a
 * connector translating into its provider's wire format maps only some fields (Ollama has no `user`, Anthropic no
 * `seed`) and forwards some provider-specific extras (`top_k`, `negative_prompt`, …). Clients (the web playground,
 * `kai connectors`) show a service the parameters that will actually reach its provider.
 */
import { z } from "zod";

/** The operations a connector can offer; the router only sends a connector what it lists. */
export const CONNECTOR_OPERATIONS = [
  "chat",
  "chat_stream",
  "completions",
  "embeddings",
  "images",
  "images_edit",
  "models",
  "transcriptions",
  "vector_collections",
  "vector_upsert",
  "vector_query",
  "vector_delete",
  "workflow_run",
  "workflows",
] as const;
export const ConnectorOperationSchema = z.enum(CONNECTOR_OPERATIONS);
export type ConnectorOperation = z.infer<typeof ConnectorOperationSchema>;

/**
 * One parameter as JSON Schema, exactly as zod's `toJSONSchema` writes the field of the shared request schema (or of
 * the connector's extra): `type`, `enum`, `anyOf`, `minimum`, … Open, so a newer converter's keywords pass.
 */
export const ParameterJsonSchemaSchema = z.looseObject({});
export type ParameterJsonSchema = z.infer<typeof ParameterJsonSchemaSchema>;

/**
 * The tuning parameters one operation honours, as a JSON Schema object (`properties` only: every parameter is
 * optional). The operation's own inputs (`model`, `messages`, `prompt`, `input`, `stream`, the image or audio) are
 * implied by the operation and not listed.
 */
export const OperationParametersSchema = z.strictObject({
  type: z.literal("object"),
  properties: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), ParameterJsonSchemaSchema),
});
export type OperationParameters = z.infer<typeof OperationParametersSchema>;

export const ConnectorOperationInfoSchema = z.strictObject({
  operation: ConnectorOperationSchema,
  /** Absent for operations whose request has no tuning parameters (listing models, vector and workflow calls). */
  parameters: OperationParametersSchema.optional(),
});
export type ConnectorOperationInfo = z.infer<typeof ConnectorOperationInfoSchema>;

export const ConnectorInfoSchema = z.strictObject({
  /** The connector id a service record names as its `provider` (e.g. `openai`, `ollama`). */
  id: z.string().min(1).max(64),
  displayName: z.string().min(1).max(128),
  operations: z.array(ConnectorOperationInfoSchema),
});
export type ConnectorInfo = z.infer<typeof ConnectorInfoSchema>;

/** `GET /api/connectors`: every connector the node has, in its registration order. */
export const ConnectorListSchema = z.strictObject({ connectors: z.array(ConnectorInfoSchema) });
export type ConnectorList = z.infer<typeof ConnectorListSchema>;
