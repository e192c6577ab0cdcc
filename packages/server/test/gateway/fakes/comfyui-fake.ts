/**
 * @module test/gateway/fakes/comfyui-fake
 * A fake ComfyUI server: `POST /prompt` validates the graph (every node has a `class_type`; a checkpoint must
 * be installed, else ComfyUI's 400 with `node_errors`) and queues a job; `GET /history/{id}` is `{}` until the
 * job is done (after `pollsBeforeDone` polls), then lists the SaveImage outputs; `GET /view` serves their bytes;
 * `POST /queue` (delete) and `POST /interrupt` are recorded; `GET /system_stats` is the health route;
 * `GET /object_info/CheckpointLoaderSimple` lists checkpoints, in the plain or the newer COMBO format.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const COMFY_CHECKPOINTS = ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors"];

interface Job {
  graph: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  pollsLeft: number;
}

export interface ComfyFakeOptions {
  /** ComfyUI has no auth; a reverse proxy in front may demand a bearer token. */
  requireKey?: string;
  /** How many history polls answer `{}` before the job is done. */
  pollsBeforeDone?: number;
  /** Answer object_info in the newer `["COMBO", {options}]` format. */
  comboFormat?: boolean;
}

/** The fake's state a test can steer and inspect. */
export interface ComfyFakeState {
  jobs: Map<string, Job>;
  /** Jobs never finish while set (to test deadlines and cancellation). */
  neverFinish: boolean;
  /** Finished jobs report an execution error while set. */
  failJobs: boolean;
  queueDeletes: string[];
  interrupts: unknown[];
}

export const fakePng = (filename: string) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(filename)]);

function saveNodes(job: Job): Array<[string, number]> {
  const latent = Object.values(job.graph).find((node) => node.class_type === "EmptyLatentImage");
  const batch = typeof latent?.inputs.batch_size === "number" ? latent.inputs.batch_size : 1;
  return Object.entries(job.graph)
    .filter(([, node]) => node.class_type === "SaveImage" || node.class_type === "PreviewImage")
    .map(([id]) => [id, batch]);
}

export function comfyWire(options: ComfyFakeOptions, state: ComfyFakeState): ProviderWire {
  return {
    errorBody: (_status, message) => ({ error: { type: "server_error", message, details: "", extra_info: {} }, node_errors: {} }),
    streamErrorFrame: () => "",
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (options.requireKey && request.headers.authorization !== `Bearer ${options.requireKey}`) {
        return fake.sendJson(res, 401, { error: { type: "unauthorized", message: `proxy refused ${String(request.headers.authorization)}` } });
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (request.method === "GET" && request.path.startsWith("/history/")) {
        const id = decodeURIComponent(request.path.slice("/history/".length));
        const job = state.jobs.get(id);
        if (!job || state.neverFinish) return fake.sendJson(res, 200, {});
        if (job.pollsLeft > 0) {
          job.pollsLeft -= 1;
          return fake.sendJson(res, 200, {});
        }
        if (state.failJobs) {
          return fake.sendJson(res, 200, { [id]: { prompt: [1, id, job.graph, {}, []], outputs: {}, status: { status_str: "error", completed: false, messages: [["execution_start", { prompt_id: id }], ["execution_error", { prompt_id: id, node_id: "3", node_type: "KSampler", exception_message: "CUDA out of memory\n", exception_type: "torch.OutOfMemoryError" }]] } } });
        }
        const outputs = Object.fromEntries(
          saveNodes(job).map(([node, count]) => {
            const type = job.graph[node]?.class_type === "PreviewImage" ? "temp" : "output";
            return [node, { images: Array.from({ length: count }, (_, index) => ({ filename: `${id}_${node}_${index}.png`, subfolder: type === "output" ? "kai" : "", type })) }];
          }),
        );
        return fake.sendJson(res, 200, { [id]: { prompt: [1, id, job.graph, {}, Object.keys(outputs)], outputs, status: { status_str: "success", completed: true, messages: [["execution_start", { prompt_id: id }], ["execution_success", { prompt_id: id }]] }, meta: {} } });
      }
      switch (`${request.method} ${request.path}`) {
        case "GET /system_stats":
          return fake.sendJson(res, 200, { system: { os: "posix", python_version: "3.12.3", comfyui_version: "0.3.40", ram_total: 2e9, ram_free: 1e9 }, devices: [{ name: "cpu", type: "cpu", index: null }] });
        case "GET /object_info/CheckpointLoaderSimple": {
          const ckpt = options.comboFormat ? ["COMBO", { options: COMFY_CHECKPOINTS, tooltip: "The checkpoint to load." }] : [COMFY_CHECKPOINTS, { tooltip: "The checkpoint to load." }];
          return fake.sendJson(res, 200, { CheckpointLoaderSimple: { input: { required: { ckpt_name: ckpt } }, output: ["MODEL", "CLIP", "VAE"], name: "CheckpointLoaderSimple" } });
        }
        case "POST /prompt": {
          const graph = body.prompt as Job["graph"] | undefined;
          if (!graph || typeof graph !== "object" || Object.values(graph).some((node) => typeof node?.class_type !== "string")) {
            return fake.sendJson(res, 400, { error: { type: "invalid_prompt", message: "Cannot execute because a node is missing the class_type property.", details: "", extra_info: {} }, node_errors: {} });
          }
          for (const [id, node] of Object.entries(graph)) {
            if (node.class_type === "CheckpointLoaderSimple" && !COMFY_CHECKPOINTS.includes(String(node.inputs.ckpt_name))) {
              return fake.sendJson(res, 400, {
                error: { type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation", details: "", extra_info: {} },
                node_errors: { [id]: { errors: [{ type: "value_not_in_list", message: "Value not in list", details: `ckpt_name: '${String(node.inputs.ckpt_name)}' not in [...]` }], class_type: node.class_type } },
              });
            }
          }
          const id = randomUUID();
          state.jobs.set(id, { graph, pollsLeft: options.pollsBeforeDone ?? 2 });
          return fake.sendJson(res, 200, { prompt_id: id, number: state.jobs.size, node_errors: {} });
        }
        case "GET /view": {
          const filename = request.query.get("filename") ?? "";
          const known = [...state.jobs.keys()].some((id) => filename.startsWith(`${id}_`));
          if (!known || !request.query.has("type")) return fake.sendJson(res, 404, { error: "not found" });
          res.writeHead(200, { "content-type": "image/png" });
          res.end(fakePng(filename));
          return;
        }
        case "POST /queue":
          for (const id of (body.delete as string[] | undefined) ?? []) state.queueDeletes.push(id);
          return fake.sendJson(res, 200, {});
        case "POST /interrupt":
          state.interrupts.push(body);
          return fake.sendJson(res, 200, {});
        default:
          return fake.sendJson(res, 404, { error: "404: Not Found" });
      }
    },
  };
}

export async function startComfyFake(options: ComfyFakeOptions = {}): Promise<{ fake: FakeUpstream; state: ComfyFakeState }> {
  const state: ComfyFakeState = { jobs: new Map(), neverFinish: false, failJobs: false, queueDeletes: [], interrupts: [] };
  return { fake: await new FakeUpstream(comfyWire(options, state)).start(), state };
}
