/**
 * @module schemas/prompts
 * The prompt store (issue 17): named prompts whose every save is a new immutable version, labels that point at
 * versions and move (`production`, `staging`; `latest` is automatic and cannot be set), tags, owner and visibility.
 * A version's template is a text (`"..."`) or a chat (`[{role, content}]`) with `{{variable}}` placeholders for
 * declared, typed variables and `{{vault:secret/name}}` references to vault secrets. These schemas are shared by the
 * server's routes, the SDK, the CLI and the gateway's `prompt` reference on `/v1/chat/completions`.
 */
import { z } from "zod";
import { ChatCompletionRequestSchema, ChatMessageSchema } from "./gateway-openai.js";
import { TagSchema } from "./service.js";
import { SecretNameSchema } from "./vault.js";

/** A prompt's name: one path segment (it sits in `/api/prompts/{name}`). */
export const PromptNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "must start with a letter or digit and use only letters, digits and _ . -, at most 128 characters");

/** The label every prompt has on its newest version; set by the store, never by a caller. */
export const LATEST_LABEL = "latest";

export const PromptLabelSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "must be lower-case letters, digits and _ . -, at most 64 characters");

/** A label a caller may set (every label but `latest`). */
export const SettablePromptLabelSchema = PromptLabelSchema.refine((label) => label !== LATEST_LABEL, "`latest` always points at the newest version and cannot be set");

export const PromptVersionNumberSchema = z.int().min(1).max(2_147_483_647);

export const PROMPT_VARIABLE_TYPES = ["string", "number", "boolean", "json"] as const;
export const PromptVariableTypeSchema = z.enum(PROMPT_VARIABLE_TYPES);
export type PromptVariableType = z.infer<typeof PromptVariableTypeSchema>;

/** A variable a template declares: `{{name}}` may only name declared variables. */
export const PromptVariableSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be an identifier (letters, digits, _; not starting with a digit), at most 64 characters"),
  type: PromptVariableTypeSchema.default("string"),
  /** A required variable without a default must be given at render. */
  required: z.boolean().default(true),
  /** Used when the variable is not given; must have the variable's type. */
  default: z.unknown().optional(),
  description: z.string().max(1000).optional(),
});
export type PromptVariable = z.infer<typeof PromptVariableSchema>;
export type PromptVariableInput = z.input<typeof PromptVariableSchema>;

export const PROMPT_MESSAGE_ROLES = ["system", "developer", "user", "assistant"] as const;
export const PromptMessageSchema = z.strictObject({
  role: z.enum(PROMPT_MESSAGE_ROLES),
  content: z.string().max(100_000),
});
export type PromptMessage = z.infer<typeof PromptMessageSchema>;

/** A text template, or a chat template (messages, each with placeholders in its content). */
export const PromptTemplateSchema = z.union([z.string().max(100_000), z.array(PromptMessageSchema).min(1).max(100)]);
export type PromptTemplate = z.infer<typeof PromptTemplateSchema>;

export const PromptTypeSchema = z.enum(["text", "chat"]);
export type PromptType = z.infer<typeof PromptTypeSchema>;

/** Who may read a prompt besides its owner (and admins): nobody (`private`) or every holder of `prompts:read` (`shared`). */
export const PromptVisibilitySchema = z.enum(["private", "shared"]);
export type PromptVisibility = z.infer<typeof PromptVisibilitySchema>;

const uniqueStrings = (values: string[]) => [...new Set(values)];

/** `PUT /api/prompts/{name}`: a new version (the first one creates the prompt). */
export const SavePromptRequestSchema = z.strictObject({
  template: PromptTemplateSchema,
  variables: z.array(PromptVariableSchema).max(64).default([]),
  /** The prompt's tags (replace the previous ones); absent: unchanged. */
  tags: z.array(TagSchema).max(32).transform(uniqueStrings).optional(),
  /** Absent: unchanged. */
  description: z.string().max(2000).optional(),
  /** Absent: unchanged (`private` for a new prompt). */
  visibility: PromptVisibilitySchema.optional(),
  /** Why this version (a commit message). */
  message: z.string().max(500).optional(),
  /** Labels to move onto the new version at once (e.g. `["staging"]`). */
  labels: z.array(SettablePromptLabelSchema).max(16).transform(uniqueStrings).default([]),
});
export type SavePromptRequest = z.output<typeof SavePromptRequestSchema>;
export type SavePromptRequestInput = z.input<typeof SavePromptRequestSchema>;

/** One immutable version. */
export const PromptVersionSchema = z.object({
  name: PromptNameSchema,
  version: PromptVersionNumberSchema,
  type: PromptTypeSchema,
  template: PromptTemplateSchema,
  variables: z.array(PromptVariableSchema),
  message: z.string().optional(),
  /** The version this one copies (a restore). */
  restoredFrom: PromptVersionNumberSchema.optional(),
  /** The owner of the token that saved it. */
  author: z.string(),
  createdAt: z.string(),
});
export type PromptVersion = z.infer<typeof PromptVersionSchema>;

/** A prompt: what all its versions share. */
export const PromptInfoSchema = z.object({
  name: PromptNameSchema,
  owner: z.string(),
  visibility: PromptVisibilitySchema,
  description: z.string().optional(),
  tags: z.array(TagSchema),
  /** The newest version's number (what `latest` points at). */
  latestVersion: PromptVersionNumberSchema,
  /** Label → version, `latest` included. */
  labels: z.record(z.string(), PromptVersionNumberSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type PromptInfo = z.infer<typeof PromptInfoSchema>;

/** A prompt with one of its versions (the one asked for). */
export const PromptResponseSchema = z.object({ prompt: PromptInfoSchema, version: PromptVersionSchema });
export type PromptResponse = z.infer<typeof PromptResponseSchema>;

/** Which version: a number or a label; neither means `latest`. Both at once is refused. */
export const PromptSelectorSchema = z
  .strictObject({
    version: z.coerce.number().pipe(PromptVersionNumberSchema).optional(),
    label: PromptLabelSchema.optional(),
  })
  .refine((value) => value.version === undefined || value.label === undefined, { message: "give a version or a label, not both", path: ["label"] });
export type PromptSelector = z.output<typeof PromptSelectorSchema>;

export const ListPromptsQuerySchema = z.strictObject({
  /** Full-text search over the name, description, tags and the newest version's template (every word, by prefix). */
  q: z.string().max(200).optional(),
  tag: TagSchema.optional(),
  /** Only this owner's prompts. */
  owner: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().max(256).optional(),
});
export type ListPromptsQuery = z.output<typeof ListPromptsQuerySchema>;

export const ListPromptsResponseSchema = z.object({ prompts: z.array(PromptInfoSchema), nextCursor: z.string().nullable() });
export type ListPromptsResponse = z.infer<typeof ListPromptsResponseSchema>;

export const ListPromptVersionsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().max(32).optional(),
});
export type ListPromptVersionsQuery = z.output<typeof ListPromptVersionsQuerySchema>;

export const ListPromptVersionsResponseSchema = z.object({ versions: z.array(PromptVersionSchema), nextCursor: z.string().nullable() });
export type ListPromptVersionsResponse = z.infer<typeof ListPromptVersionsResponseSchema>;

export const PromptDiffQuerySchema = z.strictObject({
  from: z.coerce.number().pipe(PromptVersionNumberSchema),
  to: z.coerce.number().pipe(PromptVersionNumberSchema),
});

/** One line of a diff: kept (` `), removed (`-`) or added (`+`). */
export const PromptDiffLineSchema = z.object({ op: z.enum([" ", "-", "+"]), text: z.string() });
export type PromptDiffLine = z.infer<typeof PromptDiffLineSchema>;

export const PromptDiffSchema = z.object({
  name: PromptNameSchema,
  from: PromptVersionNumberSchema,
  to: PromptVersionNumberSchema,
  /** The templates line by line (a chat template as `role: content` per message). */
  template: z.array(PromptDiffLineSchema),
  variables: z.object({
    added: z.array(z.string()),
    removed: z.array(z.string()),
    /** Declared in both, with a different type, requirement, default or description. */
    changed: z.array(z.string()),
  }),
});
export type PromptDiff = z.infer<typeof PromptDiffSchema>;

/** `POST /api/prompts/{name}/restore`: a new version copying `version`. */
export const RestorePromptRequestSchema = z.strictObject({
  version: PromptVersionNumberSchema,
  message: z.string().max(500).optional(),
});

/** `PUT /api/prompts/{name}/labels/{label}`. */
export const SetPromptLabelRequestSchema = z.strictObject({ version: PromptVersionNumberSchema });

/** Values for a render, by variable name. */
export const PromptVariableValuesSchema = z.record(z.string().max(64), z.unknown()).refine((value) => Object.keys(value).length <= 64, "at most 64 variables");

/** `POST /api/prompts/{name}/render`. */
export const RenderPromptRequestSchema = z.strictObject({
  version: PromptVersionNumberSchema.optional(),
  label: PromptLabelSchema.optional(),
  variables: PromptVariableValuesSchema.default({}),
});
export type RenderPromptRequest = z.output<typeof RenderPromptRequestSchema>;
export type RenderPromptRequestInput = z.input<typeof RenderPromptRequestSchema>;

export const RenderPromptResponseSchema = z.object({
  name: PromptNameSchema,
  /** The version rendered (what a label resolved to). */
  version: PromptVersionNumberSchema,
  type: PromptTypeSchema,
  /** A text template's result. */
  text: z.string().optional(),
  /** A chat template's result. */
  messages: z.array(PromptMessageSchema).optional(),
});
export type RenderPromptResponse = z.infer<typeof RenderPromptResponseSchema>;

/** The gateway's `prompt` on `/v1/chat/completions`: rendered into messages placed before the body's own. */
export const PromptReferenceSchema = z.strictObject({
  name: PromptNameSchema,
  version: PromptVersionNumberSchema.optional(),
  label: PromptLabelSchema.optional(),
  variables: PromptVariableValuesSchema.default({}),
});
export type PromptReference = z.output<typeof PromptReferenceSchema>;

/** A vault reference's secret name inside a template (`{{vault:<name>}}`). */
export const PromptSecretNameSchema = SecretNameSchema;

/**
 * `POST /v1/chat/completions` as the gateway takes it: the OpenAI request, plus an optional `prompt` whose rendered
 * messages come before the body's own `messages` (which may then be absent). The `prompt` member is never forwarded.
 */
export const PromptedChatCompletionRequestSchema = ChatCompletionRequestSchema.extend({
  messages: z.array(ChatMessageSchema).optional(),
  prompt: PromptReferenceSchema.optional(),
}).refine((body) => body.prompt !== undefined || (body.messages !== undefined && body.messages.length > 0), {
  message: "give messages, a prompt, or both",
  path: ["messages"],
});
export type PromptedChatCompletionRequest = z.infer<typeof PromptedChatCompletionRequestSchema>;

/** The response header naming the prompt version a gateway call rendered (`<name>@<version>`). */
export const PROMPT_VERSION_HEADER = "x-kai-prompt-version";
