/**
 * @module test/gateway/fakes/a1111-fake
 * A fake AUTOMATIC1111 web UI API (`--api`, optionally `--api-auth user:pass` → HTTP Basic): `/sdapi/v1/txt2img`
 * and `/img2img` answer base64 "images" (tagged bytes, not real PNGs) in `batch_size`, prepending a grid like
 * A1111 does unless `do_not_save_grid` is set; `/sdapi/v1/sd-models` lists two checkpoints; `/sdapi/v1/memory`
 * is the health route. Errors use A1111's `{error, detail, body, errors}` body; validation errors FastAPI's
 * `{detail: [...]}` with 422.
 */
import type { ServerResponse } from "node:http";
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const A1111_MODELS = [
  { title: "v1-5-pruned-emaonly.safetensors [6ce0161689]", model_name: "v1-5-pruned-emaonly", hash: "6ce0161689", sha256: "6ce0161689b3853a", filename: "/models/Stable-diffusion/v1-5-pruned-emaonly.safetensors", config: null },
  { title: "sd_xl_base_1.0.safetensors [31e35c80fc]", model_name: "sd_xl_base_1.0", hash: "31e35c80fc", sha256: "31e35c80fc4829d1", filename: "/models/Stable-diffusion/sd_xl_base_1.0.safetensors", config: null },
];

/** What the fake "renders": decoding the base64 tells a test which request and which batch index made it. */
export const fakeImage = (tag: string) => Buffer.from(`PNG:${tag}`).toString("base64");

export interface A1111FakeOptions {
  /** `user:password` as given to `--api-auth`. */
  requireKey?: string;
}

export function a1111Wire(options: A1111FakeOptions = {}): ProviderWire {
  return {
    errorBody: (status, message) => ({ error: status === 429 ? "TooManyRequests" : "HTTPException", detail: message, body: "", errors: message }),
    streamErrorFrame: () => "",
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (options.requireKey) {
        const expected = `Basic ${Buffer.from(options.requireKey).toString("base64")}`;
        // Echoes what it got, the way careless proxies do: the connector must scrub it.
        if (request.headers.authorization !== expected) return fake.sendJson(res, 401, { detail: `Incorrect username or password (got ${String(request.headers.authorization)})` });
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      switch (`${request.method} ${request.path}`) {
        case "GET /sdapi/v1/memory":
          return fake.sendJson(res, 200, { ram: { free: 1e9, used: 1e9, total: 2e9 }, cuda: { system: { free: 1e9, used: 1e9, total: 2e9 } } });
        case "GET /sdapi/v1/sd-models":
          return fake.sendJson(res, 200, A1111_MODELS);
        case "POST /sdapi/v1/txt2img":
        case "POST /sdapi/v1/img2img": {
          const img2img = request.path.endsWith("img2img");
          if (typeof body.prompt !== "string") return fake.sendJson(res, 422, { detail: [{ loc: ["body", "prompt"], msg: "field required", type: "value_error.missing" }] });
          if (img2img && (!Array.isArray(body.init_images) || body.init_images.length === 0)) return fake.sendJson(res, 422, { detail: [{ loc: ["body", "init_images"], msg: "field required", type: "value_error.missing" }] });
          const batch = typeof body.batch_size === "number" ? body.batch_size : 1;
          const width = typeof body.width === "number" ? body.width : 512;
          const height = typeof body.height === "number" ? body.height : 512;
          const kind = img2img ? "img2img" : "txt2img";
          const images = Array.from({ length: batch }, (_, index) => fakeImage(`${kind}:${body.prompt as string}:${width}x${height}:${index}`));
          // A1111 returns the batch grid first (opts.return_grid) unless told not to save one.
          if (batch > 1 && body.do_not_save_grid !== true) images.unshift(fakeImage("grid"));
          const info = JSON.stringify({ prompt: body.prompt, seed: typeof body.seed === "number" && body.seed >= 0 ? body.seed : 1234, width, height, sd_model_name: "v1-5-pruned-emaonly" });
          return fake.sendJson(res, 200, { images, parameters: body, info });
        }
        default:
          return fake.sendJson(res, 404, { detail: "Not Found" });
      }
    },
  };
}

export const startA1111Fake = (options: A1111FakeOptions = {}) => new FakeUpstream(a1111Wire(options)).start();
