/**
 * @module gateway/connectors/a1111/wire
 * The parts of the AUTOMATIC1111 web UI API (`--api`) this connector reads. Private to the connector.
 */
import { z } from "zod";

/** `/sdapi/v1/txt2img` and `/sdapi/v1/img2img` answer: base64 PNGs, the parameters used, and an info JSON string. */
export const A1111ImagesSchema = z.looseObject({
  images: z.array(z.string()),
  info: z.string().optional(),
});

/** `/sdapi/v1/sd-models`: the installed checkpoints. `title` is "name.safetensors [hash]", `model_name` the bare name. */
export const A1111ModelsSchema = z.array(z.looseObject({ title: z.string(), model_name: z.string() }));
export type A1111Model = z.infer<typeof A1111ModelsSchema>[number];
