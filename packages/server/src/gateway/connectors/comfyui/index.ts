/**
 * @module gateway/connectors/comfyui
 * ComfyUI for `image_generation`. A job is asynchronous on ComfyUI's side, so one OpenAI image request is
 * several calls: queue the workflow (`POST /prompt`), poll `GET /history/{prompt_id}` until the job is done,
 * then fetch each saved image (`GET /view?filename=…`) and return it as base64. A plain prompt runs the
 * built-in txt2img template (see `workflow.ts`); a caller may send a complete API-format graph as
 * `workflow` instead. One deadline (the call's `timeoutMs`) covers every step; when the caller leaves or
 * the deadline passes, the job is also removed from ComfyUI's queue (or interrupted if already running),
 * so an abandoned request does not keep the GPU busy.
 */
import { randomInt, randomUUID } from "node:crypto";
import type { ImageGenerationRequest, ImageGenerationResponse } from "@kai/protocol";
import type { CallContext, Connector, ConnectorResult } from "../../connector.js";
import { ApiError } from "../../../errors.js";
import { UpstreamError } from "../../upstream/upstream-error.js";
import { callBytes, callJson, probeHealth } from "../../upstream/upstream-http.js";
import { DEFAULT_TIMEOUT_MS, upstreamRequests } from "../../upstream/upstream-request.js";
import { bearerAuth, parseSize, pause, refined, toBase64 } from "../support.js";
import { ComfyCheckpointInfoSchema, ComfyHistorySchema, ComfyQueuedSchema, ComfyWorkflowSchema, checkpointsOf, type ComfyHistoryEntry, type ComfyImage, type ComfyWorkflow } from "./wire.js";
import { SAVE_NODE, TXT2IMG_DEFAULTS, txt2ImgWorkflow } from "./workflow.js";
import { COMFYUI_PARAMETERS } from "./parameters.js";

const PROVIDER = "ComfyUI";
/** First poll after this long, then 1.5× longer each time up to the cap: quick jobs return fast, long ones cost few requests. */
const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 1_000;
/** Budget for the best-effort queue removal after a cancel; the caller is not kept waiting for it. */
const CLEANUP_TIMEOUT_MS = 2_000;

// ComfyUI has no auth of its own; a credential is sent as a bearer token for instances behind a proxy.
const request = upstreamRequests(PROVIDER, bearerAuth);

/** The same call context with the time left until the overall deadline as its timeout. */
function withinDeadline(context: CallContext, deadline: number): CallContext {
  const left = deadline - performance.now();
  if (left <= 0) throw new UpstreamError("upstream_timeout", `${PROVIDER} did not finish the job in time`);
  // `signal` may be a getter on the context's prototype (route-execution's AttemptContext), which a spread skips.
  const signal = context.signal;
  return { ...context, ...(signal ? { signal } : {}), timeoutMs: left };
}

async function checkpoints(context: CallContext): Promise<string[]> {
  const { data } = await callJson(request("GET", "/object_info/CheckpointLoaderSimple", context), ComfyCheckpointInfoSchema);
  return checkpointsOf(data);
}

/** Number fields OpenAI does not have but ComfyUI users expect to set (kai-cd's parameter mapping). */
function numberOf(request: ImageGenerationRequest, key: string): number | undefined {
  const value = request[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
function stringOf(request: ImageGenerationRequest, key: string): string | undefined {
  const value = request[key];
  return typeof value === "string" ? value : undefined;
}

/** The graph to queue: the caller's own, or the template filled from the request. */
async function workflowFor(image: ImageGenerationRequest, context: CallContext): Promise<{ graph: ComfyWorkflow; template: boolean }> {
  if (image.workflow !== undefined) {
    const parsed = ComfyWorkflowSchema.safeParse(image.workflow);
    if (!parsed.success) throw new ApiError("validation_failed", "workflow must be a ComfyUI API-format graph: {\"<node id>\": {class_type, inputs}}");
    return { graph: parsed.data, template: false };
  }
  // Checked up front: ComfyUI's own answer to an unknown checkpoint is a generic 400 validation error.
  const installed = await checkpoints(context);
  const checkpoint = image.model ?? installed[0];
  if (!checkpoint || !installed.includes(checkpoint)) {
    throw new UpstreamError("model_not_found", checkpoint ? `${PROVIDER} has no checkpoint named "${checkpoint.slice(0, 200)}"` : `${PROVIDER} has no checkpoints installed`, { upstreamStatus: 404 });
  }
  const size = parseSize(image.size);
  const graph = txt2ImgWorkflow({
    prompt: image.prompt,
    negativePrompt: stringOf(image, "negative_prompt") ?? TXT2IMG_DEFAULTS.negativePrompt,
    checkpoint,
    // OpenAI semantics: every request a new image, unless the caller pins the seed.
    seed: numberOf(image, "seed") ?? randomInt(0, 2 ** 47),
    steps: numberOf(image, "steps") ?? TXT2IMG_DEFAULTS.steps,
    cfg: numberOf(image, "cfg_scale") ?? TXT2IMG_DEFAULTS.cfg,
    sampler: stringOf(image, "sampler_name") ?? TXT2IMG_DEFAULTS.sampler,
    scheduler: stringOf(image, "scheduler") ?? TXT2IMG_DEFAULTS.scheduler,
    width: size?.width ?? TXT2IMG_DEFAULTS.width,
    height: size?.height ?? TXT2IMG_DEFAULTS.height,
    batchSize: image.n ?? 1,
  });
  return { graph, template: true };
}

/** ComfyUI's reason for a failed job, from its `execution_error` status message. */
function failureOf(entry: ComfyHistoryEntry): string {
  for (const [event, details] of entry.status?.messages ?? []) {
    if (event !== "execution_error" || !details || typeof details !== "object") continue;
    const { exception_message: message, node_type: node } = details as { exception_message?: unknown; node_type?: unknown };
    if (typeof message === "string") return `${typeof node === "string" ? `${node}: ` : ""}${message.trim().slice(0, 300)}`;
  }
  return "the job failed";
}

/** Polls the job's history entry until it completed (or failed); throws on timeout or cancel. */
async function waitForJob(promptId: string, context: CallContext, deadline: number): Promise<ComfyHistoryEntry> {
  let wait = FIRST_POLL_MS;
  for (;;) {
    await pause(Math.min(wait, Math.max(0, deadline - performance.now())), context.signal, PROVIDER);
    const { data } = await callJson(request("GET", `/history/${encodeURIComponent(promptId)}`, withinDeadline(context, deadline)), ComfyHistorySchema);
    const entry = data[promptId];
    if (entry?.status?.status_str === "error") throw new UpstreamError("upstream_error", `${PROVIDER} failed the job: ${failureOf(entry)}`);
    if (entry && (entry.status?.completed === true || entry.status?.status_str === "success")) return entry;
    wait = Math.min(wait * 1.5, MAX_POLL_MS);
  }
}

/** The images the job saved: the template's SaveImage node, or every `output` image of a custom graph. */
function imagesOf(entry: ComfyHistoryEntry, template: boolean): ComfyImage[] {
  const nodes = template ? [entry.outputs[SAVE_NODE]] : Object.values(entry.outputs);
  const all = nodes.flatMap((node) => node?.images ?? []);
  const saved = all.filter((image) => image.type === "output");
  // A graph that only previews (PreviewImage → type "temp") still produced images; return those.
  return saved.length > 0 ? saved : all;
}

/** Best effort, after a cancel or timeout: drop the job from the queue and stop it if it already runs. */
function abandon(promptId: string, context: CallContext): void {
  const quiet: CallContext = { target: context.target, timeoutMs: CLEANUP_TIMEOUT_MS, requestId: context.requestId, logger: context.logger, maxResponseBytes: context.maxResponseBytes };
  void callBytes(request("POST", "/queue", quiet, { delete: [promptId] })).catch(() => undefined);
  // `prompt_id` limits the interrupt to our job (ComfyUI ≥ 0.3.x); older versions ignore the body.
  void callBytes(request("POST", "/interrupt", quiet, { prompt_id: promptId })).catch(() => undefined);
}

async function images(image: ImageGenerationRequest, context: CallContext): Promise<ConnectorResult<ImageGenerationResponse>> {
  return refined(async () => {
    const started = performance.now();
    const deadline = started + (context.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const { graph, template } = await workflowFor(image, withinDeadline(context, deadline));
    const queued = await callJson(request("POST", "/prompt", withinDeadline(context, deadline), { prompt: graph, client_id: randomUUID() }), ComfyQueuedSchema);
    const promptId = queued.data.prompt_id;
    let entry: ComfyHistoryEntry;
    try {
      entry = await waitForJob(promptId, context, deadline);
    } catch (error) {
      if (error instanceof UpstreamError && (error.code === "request_cancelled" || error.code === "upstream_timeout")) abandon(promptId, context);
      throw error;
    }
    const files = imagesOf(entry, template);
    if (files.length === 0) throw new UpstreamError("upstream_invalid_response", `${PROVIDER} finished the job without saving an image`);
    const bytes = await Promise.all(
      files.map((file) => callBytes(request("GET", "/view", withinDeadline(context, deadline), undefined, { filename: file.filename, subfolder: file.subfolder, type: file.type }))),
    );
    const data = bytes.map(({ bytes: png }) => {
      const b64 = toBase64(png);
      return image.response_format === "url" ? { url: `data:image/png;base64,${b64}` } : { b64_json: b64 };
    });
    return { data: { created: Math.floor(Date.now() / 1000), data }, latencyMs: performance.now() - started };
  });
}

export const comfyuiConnector: Connector = {
  id: "comfyui",
  displayName: PROVIDER,
  operations: new Set(["images", "models"]),
  parameters: COMFYUI_PARAMETERS,
  images,
  async listModels(context) {
    return (await refined(() => checkpoints(context))).map((id) => ({ id }));
  },
  // `/system_stats` answers from the running server without touching the queue.
  health: (context) => probeHealth(request("GET", "/system_stats", context)),
};
