/**
 * @module node-config
 * The node's effective configuration as an administrator sees it (`GET /api/config`, scope `admin`): every
 * setting after defaults, the YAML file, `KAI_*` variables and flags were merged, with secrets redacted. The web
 * app's Settings view and `kai` show it, so that "what is this node actually running with?" has one answer.
 * The shape of `config` is the server's own config schema; it is kept open here (a record) so that the protocol
 * does not repeat every setting, and clients treat it as read-only data to display.
 */
import { z } from "zod";
import { AgentIdSchema } from "./agents.js";

/** What a redacted value is replaced with. */
export const REDACTED_VALUE = "[redacted]";

export const NodeConfigResponseSchema = z.object({
  /** The effective settings, sections as in the configuration file; secrets replaced by `[redacted]`. */
  config: z.record(z.string(), z.unknown()),
  /** Dotted paths of the values that were redacted (`storage.postgres.url`), so a reader knows what is hidden. */
  redacted: z.array(z.string()),
  /** The server's version. */
  version: z.string(),
  /**
   * With `?agent=`: whose view this is, the agent's overrides file (null: none, its view is the node's) and the
   * dotted keys that file sets (docs/configuration.md "Agent overrides").
   */
  agent: z.object({ id: z.string(), source: z.string().nullable(), keys: z.array(z.string()) }).optional(),
});
export type NodeConfigResponse = z.infer<typeof NodeConfigResponseSchema>;

/**
 * `GET /api/config?agent=`: one agent's view (`kClass:name`), its overrides file applied; without, the node-wide view.
 * The id is checked like every agent id, so a path (`../../x`) is refused 400 `validation_failed`.
 */
export const ConfigViewQuerySchema = z.strictObject({ agent: AgentIdSchema.optional() });
export type ConfigViewQuery = z.infer<typeof ConfigViewQuerySchema>;

/**
 * `PATCH /api/config` takes no query: the runtime layer is node-wide, and an agent's overrides are its file (so
 * `?agent=` is refused rather than ignored: a change meant for one agent never silently becomes everyone's).
 */
export const ConfigPatchQuerySchema = z.strictObject({});

/** The configuration layers, lowest first (issue 18, docs/configuration.md "Layers"); `agent` only in an agent's view. */
export const CONFIG_LAYERS = ["defaults", "system", "policy", "user", "env", "cli", "agent", "runtime"] as const;
export const ConfigLayerNameSchema = z.enum(CONFIG_LAYERS);

/** A dotted setting name: `logging.level`, `rateLimit.read.max`. */
export const ConfigKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "a dotted setting name such as logging.level")
  .refine((key) => !key.split(".").some((name) => name === "__proto__" || name === "constructor" || name === "prototype"), { message: "not a setting name" });

/** `GET /api/config/explain?key=[&agent=]`: the key's value in every layer and which layer wins. */
export const ConfigExplainQuerySchema = z.strictObject({ key: ConfigKeySchema, agent: AgentIdSchema.optional() });

export const ConfigExplainResponseSchema = z.object({
  key: z.string(),
  /** With `?agent=`: the agent whose view was explained (its overrides file among the layers, when it has one). */
  agent: z.string().optional(),
  /** The effective value (secrets redacted; absent when the setting is unset, e.g. an optional URL). */
  value: z.unknown().optional(),
  /** The layer whose value is in effect (`defaults` when no layer sets the key). */
  winner: ConfigLayerNameSchema,
  /** The system or policy layer that locks the key, if one does. */
  locked: z.object({ layer: ConfigLayerNameSchema, source: z.string(), key: z.string() }).nullable(),
  /** Whether a change through `PATCH /api/config` applies at once (otherwise it is refused: restart required). */
  live: z.boolean(),
  /** Every layer present on this node, lowest first. */
  layers: z.array(z.object({
    layer: ConfigLayerNameSchema,
    /** A file path, `KAI_* environment`, `command line`, `API` or `built-in`. */
    source: z.string(),
    /** Whether this layer sets the key (or an object holding it). */
    set: z.boolean(),
    /** Its value there (secrets redacted). */
    value: z.unknown().optional(),
    /** The variable an `@env:NAME` reference read it from. */
    env: z.string().optional(),
  })),
});
export type ConfigExplainResponse = z.infer<typeof ConfigExplainResponseSchema>;

/** `PATCH /api/config`: runtime-layer values by dotted key; `null` removes the key from the runtime layer. All or nothing. */
export const ConfigPatchRequestSchema = z.strictObject({
  settings: z.record(ConfigKeySchema, z.unknown()).refine((settings) => Object.keys(settings).length > 0 && Object.keys(settings).length <= 100, {
    message: "between 1 and 100 settings",
  }),
});
export type ConfigPatchRequest = z.infer<typeof ConfigPatchRequestSchema>;

export const ConfigPatchResponseSchema = z.object({
  /** The effective values that changed (secrets redacted); empty when the change left the configuration as it was. */
  /** `agent`: the change of an agent's view where its overrides file makes it differ from the node's (a runtime value above the file). */
  changed: z.array(z.object({ key: z.string(), old: z.unknown().optional(), new: z.unknown().optional(), agent: z.string().optional() })),
});
export type ConfigPatchResponse = z.infer<typeof ConfigPatchResponseSchema>;
