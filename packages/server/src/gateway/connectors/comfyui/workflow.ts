/**
 * @module gateway/connectors/comfyui/workflow
 * The built-in minimal txt2img workflow: what a plain OpenAI image request runs on ComfyUI. Seven nodes,
 * the graph ComfyUI's own default workflow has, in API format:
 *
 *   4 CheckpointLoaderSimple (ckpt_name ← model) ──MODEL──▶ 3 KSampler (seed, steps, cfg, sampler_name, scheduler, denoise)
 *   6 CLIPTextEncode (text ← prompt)          ──positive─▶ 3
 *   7 CLIPTextEncode (text ← negative_prompt) ──negative─▶ 3
 *   5 EmptyLatentImage (width, height ← size; batch_size ← n) ──latent_image─▶ 3
 *   3 ──LATENT──▶ 9 VAEDecode (vae ← 4) ──IMAGE──▶ 8 SaveImage (filename_prefix "kai/gateway")
 *
 * A caller who needs anything else (LoRAs, ControlNet, upscalers, SDXL refiners) sends a full graph as
 * `workflow` instead; it is queued untouched.
 */
import type { ComfyWorkflow } from "./wire.js";

export interface Txt2ImgParams {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly checkpoint: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfg: number;
  readonly sampler: string;
  readonly scheduler: string;
  readonly width: number;
  readonly height: number;
  readonly batchSize: number;
}

/** Defaults of ComfyUI's own default workflow. */
export const TXT2IMG_DEFAULTS = { steps: 20, cfg: 8, sampler: "euler", scheduler: "normal", width: 512, height: 512, negativePrompt: "" } as const;

/** The node that saves the answer; its images are the result. */
export const SAVE_NODE = "8";

export function txt2ImgWorkflow(params: Txt2ImgParams): ComfyWorkflow {
  return {
    "3": {
      class_type: "KSampler",
      inputs: {
        seed: params.seed,
        steps: params.steps,
        cfg: params.cfg,
        sampler_name: params.sampler,
        scheduler: params.scheduler,
        denoise: 1,
        model: ["4", 0],
        positive: ["6", 0],
        negative: ["7", 0],
        latent_image: ["5", 0],
      },
    },
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: params.checkpoint } },
    "5": { class_type: "EmptyLatentImage", inputs: { width: params.width, height: params.height, batch_size: params.batchSize } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: params.prompt, clip: ["4", 1] } },
    "7": { class_type: "CLIPTextEncode", inputs: { text: params.negativePrompt, clip: ["4", 1] } },
    "8": { class_type: "SaveImage", inputs: { filename_prefix: "kai/gateway", images: ["9", 0] } },
    "9": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
  };
}
