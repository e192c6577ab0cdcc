/**
 * @module gateway/connectors/a1111/parameters
 * What the A1111 connector honours (translate.ts): `size` → `width`/`height`, `n` → `batch_size`, `response_format`
 * applied to the answer (A1111 only returns base64), and the Stable Diffusion fields OpenAI lacks, which it forwards
 * untouched (every field but the OpenAI-only ones passes; these are the ones worth a form field). Image edits
 * (img2img) take `denoising_strength` too.
 */
import { ImageEditRequestSchema, ImageGenerationRequestSchema } from "@kai/protocol";
import { EXTRAS, honours, type ConnectorParameters } from "../parameters.js";

const DIFFUSION = { negative_prompt: EXTRAS.negative_prompt, steps: EXTRAS.steps, cfg_scale: EXTRAS.cfg_scale, seed: EXTRAS.seed, sampler_name: EXTRAS.sampler_name };

export const A1111_PARAMETERS: ConnectorParameters = {
  images: honours(ImageGenerationRequestSchema, ["n", "size", "response_format"], DIFFUSION),
  images_edit: honours(ImageEditRequestSchema, ["n", "size", "response_format"], { ...DIFFUSION, denoising_strength: EXTRAS.denoising_strength }),
};
