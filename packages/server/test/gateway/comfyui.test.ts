// Runs the shared connector contract for the ComfyUI connector against its fake, plus the job lifecycle:
// template filling, polling until done, fetching the images, custom workflows, job failure, and that a
// cancelled or timed-out job is removed from ComfyUI's queue.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { comfyuiConnector } from "../../src/gateway/connectors/comfyui/index.js";
import { txt2ImgWorkflow } from "../../src/gateway/connectors/comfyui/workflow.js";
import { ApiError } from "../../src/errors.js";
import type { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";
import { describeConnectorContract } from "./connector-contract.js";
import { COMFY_CHECKPOINTS, fakePng, startComfyFake, type ComfyFakeState } from "./fakes/comfyui-fake.js";
import type { FakeUpstream } from "./fakes/fake-server.js";

describeConnectorContract("comfyui", {
  connector: comfyuiConnector,
  start: async (credential) => (await startComfyFake({ requireKey: credential })).fake,
  expectedModels: COMFY_CHECKPOINTS,
  probe: { path: "/object_info/CheckpointLoaderSimple", call: (context) => comfyuiConnector.images!({ prompt: "a lighthouse" }, context) },
  notFound: { call: (context) => comfyuiConnector.images!({ prompt: "a lighthouse", model: "missing-model" }, context), code: "model_not_found" },
  checkAuth: (headers, credential) => expect(headers.authorization).toBe(`Bearer ${credential}`),
});

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as UpstreamError;
};

describe("comfyui job lifecycle", () => {
  let fake: FakeUpstream;
  let state: ComfyFakeState;
  const ctx = (extra: object = {}) => ({ target: { baseUrl: fake.url }, ...extra });
  beforeAll(async () => {
    ({ fake, state } = await startComfyFake({ pollsBeforeDone: 3, comboFormat: true }));
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    state.neverFinish = false;
    state.failJobs = false;
  });

  it("fills the template, polls until done and returns the saved images as base64", async () => {
    const result = await comfyuiConnector.images!({ prompt: "a red fox", n: 2, size: "640x384", negative_prompt: "blurry", steps: 12, seed: 7, model: COMFY_CHECKPOINTS[1] }, ctx());
    const graph = (fake.last("/prompt")?.body as { prompt: ReturnType<typeof txt2ImgWorkflow>; client_id: string }).prompt;
    expect(graph["6"]?.inputs.text).toBe("a red fox");
    expect(graph["7"]?.inputs.text).toBe("blurry");
    expect(graph["4"]?.inputs.ckpt_name).toBe(COMFY_CHECKPOINTS[1]);
    expect(graph["5"]?.inputs).toMatchObject({ width: 640, height: 384, batch_size: 2 });
    expect(graph["3"]?.inputs).toMatchObject({ seed: 7, steps: 12, cfg: 8, sampler_name: "euler", scheduler: "normal" });
    const id = [...state.jobs.keys()].at(-1)!;
    // Three empty history answers, then the finished one.
    expect(fake.requests.filter((request) => request.path === `/history/${id}`)).toHaveLength(4);
    expect(result.data.data.map((image) => Buffer.from(image.b64_json!, "base64"))).toEqual([fakePng(`${id}_8_0.png`), fakePng(`${id}_8_1.png`)]);
    const view = fake.last("/view")!;
    expect(view.query.get("subfolder")).toBe("kai");
    expect(view.query.get("type")).toBe("output");
  });

  it("uses the first installed checkpoint and a fresh random seed when none is given", async () => {
    await comfyuiConnector.images!({ prompt: "a" }, ctx());
    const first = (fake.last("/prompt")?.body as { prompt: ReturnType<typeof txt2ImgWorkflow> }).prompt;
    await comfyuiConnector.images!({ prompt: "a" }, ctx());
    const second = (fake.last("/prompt")?.body as { prompt: ReturnType<typeof txt2ImgWorkflow> }).prompt;
    expect(first["4"]?.inputs.ckpt_name).toBe(COMFY_CHECKPOINTS[0]);
    expect(first["3"]?.inputs.seed).not.toBe(second["3"]?.inputs.seed);
  });

  it("queues a caller's full workflow untouched and returns every output image", async () => {
    const workflow = { ...txt2ImgWorkflow({ prompt: "custom", negativePrompt: "", checkpoint: COMFY_CHECKPOINTS[0]!, seed: 1, steps: 5, cfg: 7, sampler: "euler", scheduler: "karras", width: 256, height: 256, batchSize: 1 }), "10": { class_type: "SaveImage", inputs: { filename_prefix: "second", images: ["9", 0] } } };
    const result = await comfyuiConnector.images!({ prompt: "ignored", workflow }, ctx());
    expect((fake.last("/prompt")?.body as { prompt: unknown }).prompt).toEqual(workflow);
    expect(result.data.data).toHaveLength(2);
  });

  it("rejects a workflow that is not an API-format graph before queueing it", async () => {
    const error = await failure(comfyuiConnector.images!({ prompt: "x", workflow: { "1": { inputs: {} } } }, ctx()));
    expect(error.code).toBe("validation_failed");
  });

  it("reports ComfyUI's execution error as upstream_error with its reason", async () => {
    state.failJobs = true;
    const error = await failure(comfyuiConnector.images!({ prompt: "x" }, ctx()));
    expect(error.code).toBe("upstream_error");
    expect(error.message).toContain("KSampler: CUDA out of memory");
  });

  it("gives up at the overall deadline with upstream_timeout and removes the job from the queue", async () => {
    state.neverFinish = true;
    const started = performance.now();
    const error = await failure(comfyuiConnector.images!({ prompt: "x" }, ctx({ timeoutMs: 600 })));
    expect(error.code).toBe("upstream_timeout");
    expect(performance.now() - started).toBeLessThan(1_500);
    const id = [...state.jobs.keys()].at(-1)!;
    await expect.poll(() => state.queueDeletes).toContain(id);
    await expect.poll(() => state.interrupts).toContainEqual({ prompt_id: id });
  });

  it("stops polling at once when the caller aborts, and removes the job from the queue", async () => {
    state.neverFinish = true;
    const controller = new AbortController();
    const pending = comfyuiConnector.images!({ prompt: "x" }, ctx({ signal: controller.signal }));
    await expect.poll(() => fake.requests.some((request) => request.path.startsWith(`/history/${[...state.jobs.keys()].at(-1)}`))).toBe(true);
    const id = [...state.jobs.keys()].at(-1)!;
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe("request_cancelled");
    await expect.poll(() => state.queueDeletes).toContain(id);
  });

  it("lists checkpoints from the COMBO object_info format too", async () => {
    expect((await comfyuiConnector.listModels(ctx())).map((model) => model.id)).toEqual(COMFY_CHECKPOINTS);
  });
});
