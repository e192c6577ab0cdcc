/**
 * @module gateway/connectors/parameters
 * How a connector declares the request parameters it honours, per operation: the names of the shared request
 * schema's fields it really maps (read from its translation code, not assumed), plus provider-specific extras it
 * forwards. Each declaration is a zod object built from the shared schemas' own fields, so what `GET /api/connectors`
 * publishes (via zod's `toJSONSchema`) has exactly the types and bounds the gateway validates with. Every declared
 * parameter is proved to reach the provider by test/gateway/connector-parameters.test.ts.
 */
import { z } from "zod";
import type { ConnectorOperation, OperationParameters } from "@kai/protocol";

/** Per operation, the parameters as one zod object (every field optional). */
export type ConnectorParameters = Readonly<Partial<Record<ConnectorOperation, z.ZodObject>>>;

/** Extra parameters: name → schema of its value (optional). */
export type ParameterExtras = Readonly<Record<string, z.ZodType>>;

/** The fields `names` of a shared request schema (`ChatCompletionRequestSchema`, …), plus `extras`. */
export function honours<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>, names: readonly (keyof Shape & string)[], extras: ParameterExtras = {}): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const name of names) shape[name] = schema.shape[name] as z.ZodType;
  return z.object({ ...shape, ...extras });
}

/**
 * Provider-specific parameters that more than one connector forwards, defined once so they read the same
 * everywhere. Numbers only where the provider documents numbers.
 */
export const EXTRAS = {
  /** Sample from the k most likely tokens (Ollama, Anthropic, vLLM, llama.cpp, LM Studio). */
  top_k: z.number().int().positive().optional(),
  /** OpenAI's repetition controls, -2..2. */
  frequency_penalty: z.number().min(-2).max(2).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  /** Stable Diffusion (A1111, ComfyUI): what the image should not show. */
  negative_prompt: z.string().optional(),
  /** Stable Diffusion: sampling steps. */
  steps: z.number().int().positive().optional(),
  /** Stable Diffusion: classifier-free guidance scale. */
  cfg_scale: z.number().positive().optional(),
  /** Stable Diffusion: the noise seed (the same seed and settings give the same image). */
  seed: z.number().int().nonnegative().optional(),
  /** Stable Diffusion: the sampler's name (`Euler a`, `euler`, …: each UI has its own names). */
  sampler_name: z.string().optional(),
  /** ComfyUI: the noise schedule (`normal`, `karras`, …). */
  scheduler: z.string().optional(),
  /** A1111 img2img: how far the result may move from the source image, 0..1. */
  denoising_strength: z.number().min(0).max(1).optional(),
} as const satisfies ParameterExtras;

/** A declaration as JSON Schema (`properties` only), the form `GET /api/connectors` answers. */
export function parametersJson(parameters: z.ZodObject): OperationParameters {
  const json = z.toJSONSchema(parameters, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, Record<string, unknown>> };
  return { type: "object", properties: json.properties ?? {} };
}
