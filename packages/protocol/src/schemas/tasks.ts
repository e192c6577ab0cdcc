/**
 * @module tasks
 * Tasks of the agent mesh (issue 16): a goal, planned as a DAG of steps (kPlanner or the caller), carried out by
 * kCore across agents, tools and gateway capabilities. Task states are A2A's (lower-case, kebab), so a task
 * reached over A2A and over our API is the same object. Every task event is stored with a per-task sequence
 * number before it is sent anywhere; a client resumes from the last number it saw.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";
import { CapabilitySchema } from "./service.js";
import { AgentIdSchema } from "./agents.js";
import { PromptReferenceSchema } from "./prompts.js";
import { TraceIdSchema } from "./logs.js";

/** A2A's task states. Terminal: completed, failed, canceled, rejected. input-required pauses until answered. */
export const TASK_STATES = ["submitted", "working", "input-required", "completed", "failed", "canceled", "rejected"] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;
export const TERMINAL_TASK_STATES: readonly TaskState[] = ["completed", "failed", "canceled", "rejected"];

export const STEP_STATES = ["pending", "running", "input-required", "completed", "failed", "canceled", "skipped"] as const;
export const StepStateSchema = z.enum(STEP_STATES);
export type StepState = z.infer<typeof StepStateSchema>;

export const StepIdSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, "must be lower-case letters, digits, _ and - (at most 64), starting with a letter");

/** An input taken from an earlier step's output: `path` is a dot path into it (absent: the whole output). */
export const StepInputRefSchema = z.strictObject({
  step: StepIdSchema,
  path: z.string().max(256).regex(/^[A-Za-z0-9_.-]*$/, "must be a dot path").optional(),
});
export type StepInputRef = z.infer<typeof StepInputRefSchema>;

export const PlanStepSchema = z.strictObject({
  id: StepIdSchema,
  description: z.string().max(2000).default(""),
  /** What the step needs done; the scheduler finds a healthy agent, tool or gateway service offering it. */
  capability: CapabilitySchema,
  /** A chosen agent (the planner's or the caller's pick); the scheduler may still reassign when it fails. */
  agent: AgentIdSchema.optional(),
  /** Literal input. */
  input: z.record(z.string(), z.unknown()).default({}),
  /** Inputs wired from earlier steps, by input name; each referenced step must be in `dependsOn`. */
  inputsFrom: z.record(z.string(), StepInputRefSchema).default({}),
  dependsOn: z.array(StepIdSchema).max(64).default([]),
  timeoutMs: z.int().min(100).max(86_400_000).optional(),
  /** Attempts after the first (each may go to another agent). */
  retries: z.int().min(0).max(10).default(2),
  /** A reviewer step (kReviewer) checks this step's output before dependants run. */
  review: z.boolean().default(false),
});
export type PlanStepInput = z.input<typeof PlanStepSchema>;
export type PlanStep = z.output<typeof PlanStepSchema>;

/** Why a plan is not a DAG, or undefined when it is one. Shared by the planner's validation and the API's. */
export function planProblem(steps: readonly Pick<PlanStep, "id" | "dependsOn" | "inputsFrom">[]): string | undefined {
  const ids = new Set<string>();
  for (const step of steps) {
    if (ids.has(step.id)) return `step id "${step.id}" is used twice`;
    ids.add(step.id);
  }
  for (const step of steps) {
    for (const dependency of step.dependsOn) {
      if (!ids.has(dependency)) return `step "${step.id}" depends on unknown step "${dependency}"`;
      if (dependency === step.id) return `step "${step.id}" depends on itself`;
    }
    for (const [name, ref] of Object.entries(step.inputsFrom)) {
      if (!step.dependsOn.includes(ref.step)) return `step "${step.id}" takes input "${name}" from "${ref.step}", which is not in its dependsOn`;
    }
  }
  // Kahn's algorithm: whatever cannot be ordered is on a cycle.
  const remaining = new Map(steps.map((step) => [step.id, new Set(step.dependsOn)]));
  let progressed = true;
  while (remaining.size > 0 && progressed) {
    progressed = false;
    for (const [id, dependencies] of remaining) {
      if ([...dependencies].every((dependency) => !remaining.has(dependency))) {
        remaining.delete(id);
        progressed = true;
      }
    }
  }
  if (remaining.size > 0) return `steps ${[...remaining.keys()].map((id) => `"${id}"`).join(", ")} form a cycle`;
  return undefined;
}

export const PlanSchema = z
  .strictObject({
    goal: z.string().min(1).max(4000),
    steps: z.array(PlanStepSchema).min(1).max(100),
  })
  .superRefine((plan, context) => {
    const problem = planProblem(plan.steps);
    if (problem !== undefined) context.addIssue({ code: "custom", path: ["steps"], message: problem });
  });
export type PlanInput = z.input<typeof PlanSchema>;
export type Plan = z.output<typeof PlanSchema>;

/** `POST /api/planner/plan`. */
export const PlanRequestSchema = z.strictObject({
  goal: z.string().min(1).max(4000),
  context: z.record(z.string(), z.unknown()).optional(),
  /** The model the planner asks (through the node's gateway); absent: any service offering `llm_chat`. */
  model: z.string().min(1).max(200).optional(),
});
export type PlanRequest = z.infer<typeof PlanRequestSchema>;

export const PlanResponseSchema = z.object({
  planId: z.string(),
  plan: PlanSchema,
  /** Which model wrote it and after how many attempts (an invalid answer is re-asked). */
  model: z.string(),
  attempts: z.int(),
});
export type PlanResponse = z.infer<typeof PlanResponseSchema>;

export const TaskConstraintsSchema = z.strictObject({
  /** The whole task fails when it runs longer. */
  deadlineMs: z.int().min(100).max(7 * 86_400_000).optional(),
  /** Only these agents may be given steps. */
  agents: z.array(AgentIdSchema).max(64).optional(),
  /** kReviewer checks the aggregated result before the task completes (rejected: the task fails `review_rejected`). */
  review: z.boolean().optional(),
});

/** `POST /api/agent/task`: a goal, and either a plan, a target agent/capability, or neither (kPlanner plans it). */
export const CreateTaskRequestSchema = z.strictObject({
  goal: z.string().min(1).max(4000),
  input: z.record(z.string(), z.unknown()).default({}),
  context: z.record(z.string(), z.unknown()).optional(),
  constraints: TaskConstraintsSchema.optional(),
  plan: PlanSchema.optional(),
  /** A one-step task for this agent (with `capability`, or the agent's only skill). */
  agent: AgentIdSchema.optional(),
  /** A one-step task for whatever offers this capability. */
  capability: CapabilitySchema.optional(),
  /**
   * A stored prompt by name (with `agent` or `capability`): rendered as the caller into the step's input at dispatch,
   * a text prompt as `prompt`, a chat prompt as `messages`. The task keeps the reference, never the rendered text.
   */
  prompt: PromptReferenceSchema.optional(),
  /** Repeating a create with the same key returns the task already made (safe client retries). */
  idempotencyKey: z.string().min(1).max(200).optional(),
});
export type CreateTaskRequestInput = z.input<typeof CreateTaskRequestSchema>;
export type CreateTaskRequest = z.output<typeof CreateTaskRequestSchema>;

export const TaskErrorSchema = z.object({ code: z.string(), message: z.string() });

/** The capability a reviewer agent offers; kReviewer sends it `{goal, step?, input?, output, previous?}` (docs/agents/review.md). */
export const REVIEW_CAPABILITY = "review";

/** What a reviewer answers about an output: approved or not, why, and (optionally) how good, 0 to 1. */
export const ReviewVerdictSchema = z.object({
  approved: z.boolean(),
  reasons: z.array(z.string().max(2000)).max(20).default([]),
  score: z.number().min(0).max(1).optional(),
});
export type ReviewVerdict = z.output<typeof ReviewVerdictSchema>;

/** A review of a step's output (or of the task's result): under way, or its verdict, and who gave it. */
export const ReviewSchema = z.object({
  state: z.enum(["reviewing", "approved", "rejected"]),
  /** The reviewer agent's id, or `kReviewer:main` (a model asked through the gateway) with the service that answered. */
  reviewer: z.string().optional(),
  reasons: z.array(z.string()).optional(),
  score: z.number().optional(),
  /** The step attempt this review is of. */
  attempt: z.int().optional(),
  at: TimestampSchema,
});
export type Review = z.infer<typeof ReviewSchema>;

export const StepRunSchema = z.object({
  id: StepIdSchema,
  capability: z.string(),
  state: StepStateSchema,
  /** Who ran (or runs) it: an agent id, a tool record id, or a gateway service id. */
  assignee: z.string().optional(),
  attempts: z.int(),
  startedAt: TimestampSchema.optional(),
  finishedAt: TimestampSchema.optional(),
  output: z.unknown().optional(),
  error: TaskErrorSchema.optional(),
  /** For a `review: true` step: its latest review (the step stays "running" while it is reviewed). */
  review: ReviewSchema.optional(),
});
export type StepRun = z.infer<typeof StepRunSchema>;

export const TaskSchema = z.object({
  id: z.string(),
  goal: z.string(),
  state: TaskStateSchema,
  owner: z.string(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  planId: z.string().optional(),
  plan: PlanSchema.optional(),
  steps: z.array(StepRunSchema),
  /** The aggregated result once completed. */
  result: z.unknown().optional(),
  /** With `constraints.review`: the review of the aggregated result. */
  review: ReviewSchema.optional(),
  error: TaskErrorSchema.optional(),
  /** While input-required: what is asked, and of which step. */
  question: z.object({ step: z.string(), prompt: z.string() }).optional(),
  /** The last event sequence number of this task (resume event streams after it). */
  lastSeq: z.int(),
  /**
   * The trace its steps are recorded in: the trace of the request that created it, when the node traces (tracing.md).
   * Its log lines are found by it too (`kai logs search --trace`), as by the task's id (`--task`).
   */
  traceId: TraceIdSchema.optional(),
});
export type Task = z.infer<typeof TaskSchema>;

export const ListTasksQuerySchema = z.strictObject({
  state: z
    .union([TaskStateSchema, z.array(TaskStateSchema).max(8)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});
export type ListTasksQuery = z.output<typeof ListTasksQuerySchema>;

export const ListTasksResponseSchema = z.object({ tasks: z.array(TaskSchema), nextCursor: z.string().nullable() });
export type ListTasksResponse = z.infer<typeof ListTasksResponseSchema>;

/** `POST /api/agent/task/{id}/answer`: the answer to an input-required question. */
export const AnswerTaskRequestSchema = z.strictObject({ answer: z.unknown() });
