/**
 * @module gateway-images
 * Image edits / image-to-image (OpenAI `POST /v1/images/edits`), the second operation of capability
 * `image_generation` next to `ImageGenerationRequest` (in gateway-openai.ts). OpenAI takes the image as a
 * multipart file; the neutral shape carries it base64-encoded so it travels as JSON between our parts.
 */
import { z } from "zod";

export const ImageEditRequestSchema = z.looseObject({
  prompt: z.string().min(1),
  /** Source image, base64 (a `data:image/…;base64,` URL is accepted too). */
  image: z.string().min(1),
  /** Optional mask, base64: where the image may change (white) and where not (black). */
  mask: z.string().optional(),
  model: z.string().optional(),
  n: z.number().int().positive().max(16).optional(),
  size: z.string().optional(),
  response_format: z.enum(["url", "b64_json"]).optional(),
});
export type ImageEditRequest = z.infer<typeof ImageEditRequestSchema>;
