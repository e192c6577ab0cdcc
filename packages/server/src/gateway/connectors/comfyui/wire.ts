/**
 * @module gateway/connectors/comfyui/wire
 * The parts of ComfyUI's HTTP API this connector reads. Private to the connector.
 */
import { z } from "zod";

/** `POST /prompt` answer: the queued job's id. */
export const ComfyQueuedSchema = z.looseObject({ prompt_id: z.string().min(1), number: z.number().optional() });

const ComfyImageSchema = z.looseObject({ filename: z.string(), subfolder: z.string().optional().default(""), type: z.string().optional().default("output") });
export type ComfyImage = z.infer<typeof ComfyImageSchema>;

/** One job in `GET /history/{prompt_id}`; the object is empty (`{}`) until the job finished. */
export const ComfyHistoryEntrySchema = z.looseObject({
  outputs: z.record(z.string(), z.looseObject({ images: z.array(ComfyImageSchema).optional() })).optional().default({}),
  status: z
    .looseObject({
      status_str: z.string().optional(),
      completed: z.boolean().optional(),
      // [event name, details] pairs; `execution_error` details carry `exception_message`.
      messages: z.array(z.tuple([z.string(), z.unknown()])).optional(),
    })
    .optional(),
});
export type ComfyHistoryEntry = z.infer<typeof ComfyHistoryEntrySchema>;
export const ComfyHistorySchema = z.record(z.string(), ComfyHistoryEntrySchema);

/**
 * `GET /object_info/CheckpointLoaderSimple`. The checkpoint list is `ckpt_name[0]`: a plain array in most
 * versions, `"COMBO"` with `ckpt_name[1].options` in the newer combo format; `checkpointsOf` reads both.
 */
export const ComfyCheckpointInfoSchema = z.looseObject({
  CheckpointLoaderSimple: z.looseObject({
    input: z.looseObject({ required: z.looseObject({ ckpt_name: z.array(z.unknown()).min(1) }) }),
  }),
});

const Names = z.array(z.string());
const ComboOptions = z.looseObject({ options: Names });

/** The checkpoint file names out of either object_info format. */
export function checkpointsOf(info: z.infer<typeof ComfyCheckpointInfoSchema>): string[] {
  const [first, second] = info.CheckpointLoaderSimple.input.required.ckpt_name;
  const plain = Names.safeParse(first);
  if (plain.success) return plain.data;
  const combo = ComboOptions.safeParse(second);
  return first === "COMBO" && combo.success ? combo.data.options : [];
}

/** A workflow graph in ComfyUI's API format: node id → `{class_type, inputs}`. */
export const ComfyWorkflowSchema = z.record(z.string(), z.looseObject({ class_type: z.string().min(1), inputs: z.record(z.string(), z.unknown()) }));
export type ComfyWorkflow = z.infer<typeof ComfyWorkflowSchema>;
