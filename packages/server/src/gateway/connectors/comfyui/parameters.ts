/**
 * @module gateway/connectors/comfyui/parameters
 * What the ComfyUI connector honours when it fills its built-in txt2img workflow (index.ts `workflowFor`): `size`
 * → the latent's width and height, `n` → its batch size, `response_format` applied to the answer, and the sampler's
 * inputs (`negative_prompt`, `seed`, `steps`, `cfg_scale`, `sampler_name`, `scheduler`). A caller who sends a whole
 * graph as `workflow` sets these in the graph instead.
 */
import { ImageGenerationRequestSchema } from "@kai/protocol";
import { EXTRAS, honours, type ConnectorParameters } from "../parameters.js";

export const COMFYUI_PARAMETERS: ConnectorParameters = {
  images: honours(ImageGenerationRequestSchema, ["n", "size", "response_format"], {
    negative_prompt: EXTRAS.negative_prompt,
    seed: EXTRAS.seed,
    steps: EXTRAS.steps,
    cfg_scale: EXTRAS.cfg_scale,
    sampler_name: EXTRAS.sampler_name,
    scheduler: EXTRAS.scheduler,
  }),
};
