// Runs the shared connector contract for the A1111 connector against its fake, plus the OpenAI images ⇄
// txt2img/img2img translation (size, n, model check, pass-through parameters, grid handling).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageGenerationResponse } from "@kai/protocol";
import { a1111Connector } from "../../src/gateway/connectors/a1111/index.js";
import { toTxt2Img } from "../../src/gateway/connectors/a1111/translate.js";
import { ApiError } from "../../src/errors.js";
import { describeConnectorContract } from "./connector-contract.js";
import { A1111_MODELS, startA1111Fake } from "./fakes/a1111-fake.js";
import type { FakeUpstream } from "./fakes/fake-server.js";

const basic = (credential: string) => Buffer.from(credential).toString("base64");

describeConnectorContract("a1111", {
  connector: a1111Connector,
  start: (credential) => startA1111Fake({ requireKey: credential }),
  expectedModels: ["v1-5-pruned-emaonly", "sd_xl_base_1.0"],
  probe: { path: "/sdapi/v1/txt2img", call: (context) => a1111Connector.images!({ prompt: "a lighthouse" }, context) },
  notFound: { call: (context) => a1111Connector.images!({ prompt: "a lighthouse", model: "missing-model" }, context), code: "model_not_found" },
  secretForms: (credential) => [basic(credential)],
  checkAuth: (headers, credential) => expect(headers.authorization).toBe(`Basic ${basic(credential)}`),
});

const decode = (response: ImageGenerationResponse) => response.data.map((image) => Buffer.from(image.b64_json ?? "", "base64").toString());

describe("a1111 specifics", () => {
  let fake: FakeUpstream;
  const ctx = () => ({ target: { baseUrl: fake.url, credential: "kai:pw" } });
  beforeAll(async () => {
    fake = await startA1111Fake({ requireKey: "kai:pw" });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("maps size to width/height and n to batch_size, and returns exactly n images as b64_json (no grid)", async () => {
    const result = await a1111Connector.images!({ prompt: "a cat", n: 2, size: "768x512" }, ctx());
    expect(decode(result.data)).toEqual(["PNG:txt2img:a cat:768x512:0", "PNG:txt2img:a cat:768x512:1"]);
    expect(fake.last("/sdapi/v1/txt2img")?.body).toMatchObject({ prompt: "a cat", width: 768, height: 512, batch_size: 2, n_iter: 1, do_not_save_grid: true });
    expect(result.data.created).toBeGreaterThan(1_600_000_000);
  });

  it("passes A1111's own parameters through and drops OpenAI-only ones", async () => {
    await a1111Connector.images!({ prompt: "p", negative_prompt: "blurry", steps: 30, cfg_scale: 5, seed: 42, sampler_name: "DPM++ 2M", quality: "hd", style: "vivid", user: "u1", response_format: "b64_json" }, ctx());
    const body = fake.last("/sdapi/v1/txt2img")?.body as Record<string, unknown>;
    expect(body).toMatchObject({ negative_prompt: "blurry", steps: 30, cfg_scale: 5, seed: 42, sampler_name: "DPM++ 2M" });
    for (const key of ["quality", "style", "user", "response_format", "model", "n", "size"]) expect(body).not.toHaveProperty(key);
  });

  it("checks a named model against sd-models and pins it by its full title", async () => {
    await a1111Connector.images!({ prompt: "p", model: "sd_xl_base_1.0" }, ctx());
    expect(fake.last("/sdapi/v1/txt2img")?.body).toMatchObject({ override_settings: { sd_model_checkpoint: A1111_MODELS[1]!.title } });
  });

  it("answers response_format url with a data: URL (A1111 hosts no files)", async () => {
    const result = await a1111Connector.images!({ prompt: "p", response_format: "url" }, ctx());
    expect(result.data.data[0]?.url).toMatch(/^data:image\/png;base64,/);
    expect(result.data.data[0]?.b64_json).toBeUndefined();
  });

  it("runs image edits through img2img with the image as bare base64", async () => {
    const image = Buffer.from("source-image").toString("base64");
    const result = await a1111Connector.imagesEdit!({ prompt: "make it red", image: `data:image/png;base64,${image}`, mask: image, denoising_strength: 0.4 }, ctx());
    expect(decode(result.data)).toEqual(["PNG:img2img:make it red:512x512:0"]);
    expect(fake.last("/sdapi/v1/img2img")?.body).toMatchObject({ init_images: [image], mask: image, denoising_strength: 0.4, batch_size: 1 });
  });

  it("rejects a malformed size as the caller's mistake, without calling A1111", async () => {
    const before = fake.requests.length;
    const error = await a1111Connector.images!({ prompt: "p", size: "large" }, ctx()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("validation_failed");
    expect(fake.requests.length).toBe(before);
  });

  it("maps A1111's validation error (422) to upstream_bad_request", async () => {
    // A prompt that is not a string, as a client bypassing our validation might send it.
    const error = await a1111Connector.images!({ prompt: 42 } as never, ctx()).catch((caught: unknown) => caught);
    expect((error as ApiError).code).toBe("upstream_bad_request");
  });

  it("translation is pure: no size means A1111's defaults", () => {
    expect(toTxt2Img({ prompt: "x" })).toEqual({ prompt: "x", batch_size: 1, n_iter: 1, do_not_save_grid: true });
  });
});
