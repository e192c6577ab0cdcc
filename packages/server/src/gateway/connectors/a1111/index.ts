/**
 * @module gateway/connectors/a1111
 * AUTOMATIC1111's Stable Diffusion web UI (started with `--api`) for `image_generation`: OpenAI image
 * generations become `POST /sdapi/v1/txt2img`, image edits `POST /sdapi/v1/img2img`; checkpoints come from
 * `GET /sdapi/v1/sd-models`. A named model is checked against that list first, because A1111 silently
 * falls back to the loaded checkpoint for a name it does not know, and the caller would get an image from
 * the wrong model. With `--api-auth user:password` the credential is that pair, sent as HTTP Basic auth.
 */
import type { ImageEditRequest, ImageGenerationRequest } from "@kai/protocol";
import type { CallContext, Connector, ConnectorResult, UpstreamTarget } from "../../connector.js";
import { UpstreamError } from "../../upstream/upstream-error.js";
import { callJson, probeHealth } from "../../upstream/upstream-http.js";
import { upstreamRequests } from "../../upstream/upstream-request.js";
import { refined } from "../support.js";
import { findCheckpoint, fromA1111, toImg2Img, toTxt2Img } from "./translate.js";
import { A1111ImagesSchema, A1111ModelsSchema } from "./wire.js";
import { A1111_PARAMETERS } from "./parameters.js";

const PROVIDER = "A1111";

const basic = (credential: string) => Buffer.from(credential, "utf8").toString("base64");

function authHeaders(target: UpstreamTarget): Record<string, string> {
  return target.credential ? { authorization: `Basic ${basic(target.credential)}` } : {};
}

const request = upstreamRequests(PROVIDER, authHeaders);

/** The encoded credential is as secret as the credential: scrub it from any echoed error text too. */
const secrets = (context: CallContext) => (context.target.credential ? [basic(context.target.credential)] : []);

/** The installed checkpoint's full title for `model`, or `model_not_found`. */
async function checkpointFor(model: string | undefined, context: CallContext): Promise<string | undefined> {
  if (!model) return undefined;
  const { data } = await callJson(request("GET", "/sdapi/v1/sd-models", context), A1111ModelsSchema);
  const found = findCheckpoint(data, model);
  if (!found) throw new UpstreamError("model_not_found", `${PROVIDER} has no checkpoint named "${model.slice(0, 200)}"`, { upstreamStatus: 404 });
  return found.title;
}

async function generate(path: string, body: (checkpoint: string | undefined) => Record<string, unknown>, image: ImageGenerationRequest | ImageEditRequest, context: CallContext): Promise<ConnectorResult<ReturnType<typeof fromA1111>>> {
  return refined(async () => {
    const started = performance.now();
    const checkpoint = await checkpointFor(image.model, context);
    const { data } = await callJson(request("POST", path, context, body(checkpoint)), A1111ImagesSchema);
    // Latency covers the model check too: it is part of what the caller waited for.
    return { data: fromA1111(data.images, image.n ?? 1, image.response_format), latencyMs: performance.now() - started };
  }, secrets(context));
}

export const a1111Connector: Connector = {
  id: "a1111",
  displayName: PROVIDER,
  operations: new Set(["images", "images_edit", "models"]),
  parameters: A1111_PARAMETERS,
  images: (image, context) => generate("/sdapi/v1/txt2img", (checkpoint) => toTxt2Img(image, checkpoint), image, context),
  imagesEdit: (edit, context) => generate("/sdapi/v1/img2img", (checkpoint) => toImg2Img(edit, checkpoint), edit, context),
  async listModels(context) {
    const { data } = await refined(() => callJson(request("GET", "/sdapi/v1/sd-models", context), A1111ModelsSchema), secrets(context));
    return data.map((model) => ({ id: model.model_name }));
  },
  // `/sdapi/v1/memory` is a cheap API route: it answers only when the API (not just the UI) is up.
  async health(context) {
    const result = await probeHealth(request("GET", "/sdapi/v1/memory", context));
    const secret = secrets(context)[0];
    return result.message && secret ? { ...result, message: result.message.split(secret).join("[redacted]") } : result;
  },
};
