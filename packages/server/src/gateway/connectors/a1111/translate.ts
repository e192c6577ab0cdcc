/**
 * @module gateway/connectors/a1111/translate
 * Pure translation between the OpenAI images shapes and A1111's `/sdapi/v1/txt2img` / `img2img` bodies:
 * `size` "WxH" → `width`/`height`, `n` → `batch_size`, `model` → `override_settings.sd_model_checkpoint`.
 * Parameters OpenAI does not have (`negative_prompt`, `steps`, `cfg_scale`, `seed`, `sampler_name`, …) pass
 * through to A1111 untouched, so callers keep the provider's full control.
 */
import type { ImageEditRequest, ImageGenerationRequest, ImageGenerationResponse } from "@kai/protocol";
import { bareBase64, parseSize } from "../support.js";
import type { A1111Model } from "./wire.js";

/** OpenAI-only fields that mean nothing to A1111 (and that it would reject or misread). */
const OPENAI_ONLY = new Set(["model", "n", "size", "response_format", "quality", "style", "user", "background", "moderation", "output_format", "output_compression", "image", "mask"]);

function common(request: ImageGenerationRequest | ImageEditRequest, checkpoint: string | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) if (!OPENAI_ONLY.has(key)) body[key] = value;
  const size = parseSize(request.size);
  if (size) Object.assign(body, size);
  body.batch_size = request.n ?? 1;
  body.n_iter = 1;
  // Without this A1111 prepends a grid of the batch as an extra image (opts.return_grid defaults to on).
  body.do_not_save_grid = true;
  if (checkpoint) body.override_settings = { ...(body.override_settings as object | undefined), sd_model_checkpoint: checkpoint };
  return body;
}

/** OpenAI image generation → txt2img body. */
export function toTxt2Img(request: ImageGenerationRequest, checkpoint?: string): Record<string, unknown> {
  return common(request, checkpoint);
}

/** OpenAI image edit → img2img body (the image and mask go over as bare base64). */
export function toImg2Img(request: ImageEditRequest, checkpoint?: string): Record<string, unknown> {
  return { ...common(request, checkpoint), init_images: [bareBase64(request.image)], ...(request.mask ? { mask: bareBase64(request.mask) } : {}) };
}

/**
 * A1111 images → OpenAI response. A1111 only returns base64, so `b64_json` is the natural output; a caller
 * that asked for `url` gets a `data:` URL (there is no hosted file to point at). Extensions such as
 * ControlNet append their own maps after the batch, so only the first `n` images are the answer.
 */
export function fromA1111(images: readonly string[], n: number, responseFormat: "url" | "b64_json" | undefined): ImageGenerationResponse {
  return {
    created: Math.floor(Date.now() / 1000),
    data: images.slice(0, n).map((b64) => (responseFormat === "url" ? { url: `data:image/png;base64,${b64}` } : { b64_json: b64 })),
  };
}

/** Finds the checkpoint a caller named, by bare name (`model_name`) or full title; undefined when not installed. */
export function findCheckpoint(models: readonly A1111Model[], wanted: string): A1111Model | undefined {
  return models.find((model) => model.model_name === wanted || model.title === wanted);
}
