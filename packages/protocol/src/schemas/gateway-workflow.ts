/**
 * @module gateway-workflow
 * The provider-neutral workflow API of the gateway (capability `workflow_orchestration`): start a workflow
 * with a JSON input and get what it answered, and list the workflows a service has. The n8n connector maps
 * it to webhooks and n8n's public API; other engines can map it to theirs.
 */
import { z } from "zod";

/**
 * Which workflow to run. For n8n this is the webhook path (`/webhook/<path>`), which is how n8n exposes a
 * workflow to callers; several path segments are allowed, `..`, `?` and `#` are not.
 */
export const WorkflowRefSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9_~:@!$&'()*+,;=.%/-]+$/, "must be a URL path (letters, digits and URL path characters)")
  .refine((ref) => !ref.split("/").some((segment) => segment === ".." || segment === "."), "must not contain . or .. segments");

export const WorkflowRunRequestSchema = z.strictObject({
  workflow: WorkflowRefSchema,
  /** The workflow's input: the JSON body (POST), or query parameters (GET; scalar values only). */
  input: z.unknown().optional(),
  method: z.enum(["POST", "GET"]).default("POST"),
  /** Run the editor's test webhook (n8n `/webhook-test/…`) instead of the production one. */
  test: z.boolean().default(false),
});
export type WorkflowRunRequest = z.input<typeof WorkflowRunRequestSchema>;

export const WorkflowRunResponseSchema = z.object({
  /** HTTP status the workflow engine answered with. */
  status: z.number().int(),
  /** Media type of the answer. */
  contentType: z.string().optional(),
  /** The workflow's answer: parsed JSON when it sent JSON, otherwise the text. */
  output: z.unknown(),
});
export type WorkflowRunResponse = z.infer<typeof WorkflowRunResponseSchema>;

export const WorkflowSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  active: z.boolean(),
  tags: z.array(z.string()).optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type WorkflowSummary = z.infer<typeof WorkflowSummarySchema>;

export const WorkflowListSchema = z.object({ workflows: z.array(WorkflowSummarySchema) });
export type WorkflowList = z.infer<typeof WorkflowListSchema>;
