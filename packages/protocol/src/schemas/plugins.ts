/**
 * @module plugins
 * Plugins (issue 18, docs/plugins.md): the manifest a plugin folder carries (`plugin.yaml`, the seed's fields plus the
 * node API range and the capabilities it provides), the permission vocabulary, the signed file-hash manifest
 * (`plugin.sig.json`) and what `GET /api/plugins` answers. The manifest keeps the seed's snake_case names
 * (`trust_level`, `node_api`) because operators write it by hand in YAML next to the seed's examples.
 */
import { z } from "zod";
import semverValid from "semver/functions/valid.js";
import semverValidRange from "semver/ranges/valid.js";
import { CapabilitySchema } from "./service.js";
import { TimestampSchema } from "./common.js";
import { Sha256HexSchema } from "./artifacts.js";
import { AddMemoryRequestSchema, SearchMemoryParamsSchema } from "./memory.js";
import { AgentIdSchema } from "./agents.js";

/** The plugin API this node offers; a manifest's `node_api` range must include it (docs/plugins.md "Compatibility"). */
export const PLUGIN_API_VERSION = "1.0.0";

/** The file a plugin folder is recognised by, and the signed list of its files' hashes. */
export const PLUGIN_MANIFEST_FILE = "plugin.yaml";
export const PLUGIN_SIGNATURE_FILE = "plugin.sig.json";

/** A plugin's id: stable, lower-case, safe as a folder and URL segment (`plugin-musicgen`). */
export const PluginIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be 1-64 lower-case letters, digits and . _ - starting with a letter or digit")
  .refine((id) => !id.includes(".."), "must not contain ..");
export type PluginId = z.infer<typeof PluginIdSchema>;

/**
 * How far the node trusts a plugin. The node decides it (docs/plugins.md "Trust"): `system` for plugins shipped with
 * the node, `trusted` for a folder whose every file is covered by a valid signature of a key the operator trusts,
 * `unverified` for everything else. A manifest's own `trust_level` is a request, never a grant.
 */
export const PLUGIN_TRUST_LEVELS = ["system", "trusted", "unverified"] as const;
export const PluginTrustLevelSchema = z.enum(PLUGIN_TRUST_LEVELS);
export type PluginTrustLevel = z.infer<typeof PluginTrustLevelSchema>;

/**
 * Permissions without an argument. `llm_access`: language models through the node's gateway; `registry_read`: the
 * service registry; `audio_output`: playing audio; `memory_read`/`memory_write`: semantic memory; `artifacts_read`/
 * `artifacts_write`: artifact storage; `events_subscribe`: the node's event bus.
 */
export const PLUGIN_PLAIN_PERMISSIONS = [
  "llm_access", "registry_read", "audio_output", "memory_read", "memory_write", "artifacts_read", "artifacts_write", "events_subscribe",
] as const;
/**
 * Permissions with an argument: `vault_read:<secret name or pattern>`, `network:<host>[:<port>]`,
 * `invoke:<capability>` (calling a capability another plugin provides), `agent_invoke:<agent id or kClass:*>` (handing
 * a task to an agent through kCore).
 */
export const PLUGIN_PARAMETERISED_PERMISSIONS = ["vault_read", "network", "invoke", "agent_invoke"] as const;

// A vault secret name or pattern as the vault's own patterns write it (`openai/key`, `services/*`); no `.`/`..` segments.
const VAULT_NAME = /^(?!\.{1,2}(\/|$))(?!.*\/\.{1,2}(\/|$))[A-Za-z0-9_.*-]+(\/[A-Za-z0-9_.*-]+)*$/;
// A DNS name (optionally `*.` for its subdomains) or an IPv4 address, with an optional port. No schemes, no paths.
const NETWORK_HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$/;
// An agent id (`kClass:name`, as AgentIdSchema) or every agent of one class (`kExecutor:*`).
const AGENT_ID_OR_CLASS = /^k[A-Z][A-Za-z0-9]{0,30}:([a-z0-9][a-z0-9._-]{0,62}|\*)$/;

export const PluginPermissionSchema = z.union(
  [
    z.enum(PLUGIN_PLAIN_PERMISSIONS),
    z.templateLiteral(["vault_read:", z.string().max(200).regex(VAULT_NAME)]),
    z.templateLiteral(["network:", z.string().max(260).regex(NETWORK_HOST)]),
    z.templateLiteral(["invoke:", z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/)]),
    z.templateLiteral(["agent_invoke:", z.string().max(96).regex(AGENT_ID_OR_CLASS)]),
  ],
  {
    error: `must be one of ${PLUGIN_PLAIN_PERMISSIONS.join(", ")}, vault_read:<secret name or pattern>, network:<host>[:<port>] (lower-case host, no scheme), invoke:<capability> or agent_invoke:<kClass:name or kClass:*>`,
  },
);
export type PluginPermission = z.infer<typeof PluginPermissionSchema>;

/** A permission split into its kind and argument (`network:api.example.com` → `network`, `api.example.com`). */
export function splitPluginPermission(permission: PluginPermission): { kind: string; argument?: string } {
  const colon = permission.indexOf(":");
  return colon < 0 ? { kind: permission } : { kind: permission.slice(0, colon), argument: permission.slice(colon + 1) };
}

/** A path inside the plugin folder: relative, forward slashes, no `..`, no hidden tricks. */
export const PluginRelativePathSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*(\/[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*)*$/, "must be a relative path inside the plugin folder (forward slashes, no .., no leading dot or slash)");

/** Any file's path inside a signed folder (dot files too): relative, forward slashes, no `.`/`..` segments, no control characters. */
export const PluginFilePathSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((path) => !path.includes("\\") && ![...path].some((char) => char <= "\u001f" || char === "\u007f") && path.split("/").every((part) => part !== "" && part !== "." && part !== ".."), "must be a relative path inside the plugin folder");

const SemverSchema = z.string().max(256).refine((value) => semverValid(value) !== null, "must be a semantic version such as 1.2.3");
const SemverRangeSchema = z.string().min(1).max(256).refine((value) => semverValidRange(value) !== null, "must be a semantic version range such as ^1.0.0");

/** A JSON Schema object (kept as given; checked as an object here, applied to calls by the runtime). */
const JsonSchemaObjectSchema = z.record(z.string(), z.unknown()).refine((value) => JSON.stringify(value).length <= 65_536, "must be at most 64 KiB of JSON");

/** One capability a plugin provides: routable through the gateway and usable as an agent step once the runtime runs it. */
export const PluginCapabilitySchema = z.strictObject({
  name: CapabilitySchema,
  description: z.string().max(1000).optional(),
  /** JSON Schema of a call's input. */
  input: JsonSchemaObjectSchema.optional(),
  /** JSON Schema of a call's output. */
  output: JsonSchemaObjectSchema.optional(),
});
export type PluginCapability = z.infer<typeof PluginCapabilitySchema>;

const PackageNameSchema = z.string().min(1).max(214).regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, "must be a package name such as @tensorflow/tfjs");
const DependencyMapSchema = z.record(PackageNameSchema, SemverRangeSchema);

/**
 * `plugin.yaml`. `dependencies` takes the seed's form (a list of one-entry maps, `- "@tensorflow/tfjs": "^4.0.0"`)
 * or a plain map; `pluginDependencies` reads both as one map.
 */
export const PluginManifestSchema = z.strictObject({
  id: PluginIdSchema,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  /** The file the runtime starts, relative to the plugin folder. */
  entrypoint: PluginRelativePathSchema,
  version: SemverSchema,
  /** The plugin API versions the plugin works with (`^1`); absent: any (the listing says it was not declared). */
  node_api: SemverRangeSchema.optional(),
  permissions: z
    .array(PluginPermissionSchema)
    .max(64)
    .default([])
    .refine((list) => new Set(list).size === list.length, "must name each permission once"),
  ui: z
    .strictObject({
      /** True: the plugin gets an entry in the web app's menu. */
      menu: z.boolean().default(false),
      icon: PluginRelativePathSchema.optional(),
      /** The plugin's UI: an HTML file in its folder, shown in a sandboxed frame (docs/plugins.md "Plugin UIs"). */
      page: PluginRelativePathSchema.optional(),
    })
    .optional(),
  /** What the author asks for; the node decides (PluginTrustLevelSchema). */
  trust_level: PluginTrustLevelSchema.optional(),
  dependencies: z
    .union([z.array(DependencyMapSchema).max(256), DependencyMapSchema])
    .default({}),
  capabilities: z
    .array(PluginCapabilitySchema)
    .max(64)
    .default([])
    .refine((list) => new Set(list.map((capability) => capability.name)).size === list.length, "must name each capability once"),
  /**
   * Tighter limits than its trust level gives (docs/plugins.md "Runtime"): the node takes the lower of the two, so a
   * manifest can only narrow. `cpuPercent`: the most of one CPU its processes may use on average over
   * `cpuWindowSeconds` before it is stopped.
   */
  limits: z
    .strictObject({
      cpuPercent: z.int().min(1).max(1600).optional(),
      cpuWindowSeconds: z.int().min(1).max(600).optional(),
    })
    .optional(),
});
export type PluginManifestInput = z.input<typeof PluginManifestSchema>;
export type PluginManifest = z.output<typeof PluginManifestSchema>;

/** A manifest's dependencies as one map, whichever of its two forms it used. */
export function pluginDependencies(manifest: PluginManifest): Record<string, string> {
  return Array.isArray(manifest.dependencies) ? Object.assign({}, ...manifest.dependencies) as Record<string, string> : manifest.dependencies;
}

/**
 * `plugin.sig.json`: the SHA-256 of every file in the plugin folder (except this one) and a detached Ed25519
 * `signature` by the key in `did` over the UTF-8 JCS text of the document minus `signature` (the KLP signed-document
 * input, klp/signed-document.ts). A file added, removed or changed after signing makes the folder unverified.
 */
export const PluginSignatureSchema = z.strictObject({
  format: z.literal("kai-plugin-signature/1"),
  plugin: PluginIdSchema,
  version: SemverSchema,
  files: z.record(PluginFilePathSchema, Sha256HexSchema).refine((files) => Object.keys(files).length <= 10_000, "must list at most 10000 files"),
  /** The signer's KLP DID (`kind:did:…#ed25519`). */
  did: z.string().min(1).max(200),
  signedAt: TimestampSchema,
  signature: z.string().min(1).max(200),
});
export type PluginSignature = z.infer<typeof PluginSignatureSchema>;

/** One thing wrong with a plugin: the file, the field (dotted, when a manifest field is at fault) and what. */
export const PluginProblemSchema = z.object({
  file: z.string(),
  field: z.string().optional(),
  message: z.string(),
});
export type PluginProblem = z.infer<typeof PluginProblemSchema>;

/** Where a plugin folder was found: shipped with the node, under `<dataDir>/plugins`, or a `plugins.paths` entry. */
export const PluginSourceSchema = z.enum(["system", "data", "config"]);

/**
 * What the node made of a plugin folder. `invalid`: the manifest could not be read or validated; `incompatible`: its
 * `node_api` range excludes this node; `discovered`: valid and compatible, not running (the runtime is not built yet).
 */
export const PluginStateSchema = z.enum(["discovered", "invalid", "incompatible"]);

export const PluginTrustSchema = z.object({
  level: PluginTrustLevelSchema,
  /** Why: `shipped with the node`, `signed by … (trusted key)`, `file changed after signing: main.js`, … */
  reason: z.string(),
  /** The key that signed the folder, when a signature was read. */
  signer: z.string().optional(),
  /** The file that made a signed folder unverified (changed, added or removed after signing). */
  file: z.string().optional(),
});
export type PluginTrust = z.infer<typeof PluginTrustSchema>;

export const PluginCompatibilitySchema = z.object({
  compatible: z.boolean(),
  /** The plugin's range (absent when it declared none, or its manifest is invalid). */
  range: z.string().optional(),
  apiVersion: z.string(),
  reason: z.string(),
});
export type PluginCompatibility = z.infer<typeof PluginCompatibilitySchema>;

/**
 * What a plugin's process is doing on the instance that answers (plugins/runtime/): `disabled` (not enabled),
 * `starting`, `running`, `restarting` (it crashed, hung, exceeded a limit or flooded the bus, and starts again after
 * a pause), `failed` (it crashed too often in a row, or cannot start here; it stays stopped until enabled again).
 */
export const PLUGIN_RUN_STATES = ["disabled", "starting", "running", "restarting", "failed"] as const;
export const PluginRunStateSchema = z.enum(PLUGIN_RUN_STATES);
export type PluginRunState = z.infer<typeof PluginRunStateSchema>;

/**
 * How a plugin's process last ended on its own: `crashed` (it exited, or the kernel ended it past a memory or total CPU
 * limit), `hung` (it stopped answering), `flooded` (past its call rate or queue), `overloaded` (the CPU watchdog: more
 * than its share of a CPU over its window), `failed` (it could not start or load, or broke the message protocol).
 */
export const PLUGIN_PROCESS_ENDS = ["crashed", "hung", "flooded", "overloaded", "failed"] as const;
export const PluginProcessEndSchema = z.enum(PLUGIN_PROCESS_ENDS);
export type PluginProcessEnd = z.infer<typeof PluginProcessEndSchema>;

export const PluginRuntimeSchema = z.object({
  /** Enabled on the node (every instance runs it when it has its folder). */
  enabled: z.boolean(),
  state: PluginRunStateSchema,
  /** Why it is not running (the last crash, the limit it exceeded), when it is not. */
  reason: z.string().optional(),
  /** How its process last ended on its own since it was enabled (absent if it never did): what stopped it, as a code. */
  lastEnd: PluginProcessEndSchema.optional(),
  /** Restarts after a crash since it was last enabled. */
  restarts: z.int().min(0),
  /** Since when it has been in this state. */
  since: TimestampSchema.optional(),
  /** The capabilities its process offers (declared in the manifest and implemented by the entrypoint). */
  capabilities: z.array(z.string()),
  /** Which isolation layers its process got on this host (plugins/runtime/plugin-process.ts); `fileBoundary`: bubblewrap's (absent from older nodes). */
  isolation: z.object({ prlimit: z.boolean(), networkNamespace: z.boolean(), permissionModel: z.boolean(), fileBoundary: z.boolean().optional() }).optional(),
});
export type PluginRuntime = z.infer<typeof PluginRuntimeSchema>;

export const PluginSummarySchema = z.object({
  /** The manifest's id; the folder name when the manifest is invalid. */
  id: z.string(),
  name: z.string().optional(),
  version: z.string().optional(),
  folder: z.string(),
  source: PluginSourceSchema,
  state: PluginStateSchema,
  trust: PluginTrustSchema,
  errors: z.array(PluginProblemSchema),
  /** Whether it is enabled and what its process is doing on this instance. */
  runtime: PluginRuntimeSchema.optional(),
});
export type PluginSummary = z.infer<typeof PluginSummarySchema>;

export const PluginListResponseSchema = z.object({
  apiVersion: z.string(),
  plugins: z.array(PluginSummarySchema),
  /** Problems not tied to one plugin (a configured `plugins.paths` entry that is missing or not a folder). */
  errors: z.array(PluginProblemSchema),
  /** When the folders were last read (at start, or the last rescan). */
  scannedAt: TimestampSchema,
});
export type PluginListResponse = z.infer<typeof PluginListResponseSchema>;

export const PluginDetailSchema = PluginSummarySchema.extend({
  /** The validated manifest (absent when invalid). */
  manifest: PluginManifestSchema.optional(),
  compatibility: PluginCompatibilitySchema,
  /** The folder's path on the node (admins only see this). */
  path: z.string(),
});
export type PluginDetail = z.infer<typeof PluginDetailSchema>;

/**
 * The ServiceBus calls a plugin may make to the node (docs/plugins.md "ServiceBus"), each gated by a permission and
 * recorded in the security log, allowed or refused: `registry.list` (registry_read), `vault.read` (vault_read:<name>),
 * `llm.chat` (llm_access: a chat completion through the node's gateway), `events.subscribe` (events_subscribe: the
 * node's non-task events), `events.broadcast` (no permission; rate-limited: a USER_NOTIFICATION to admins),
 * `net.fetch` (network:<host>: an HTTP request the node makes to a host the permission names; plugins have no network
 * of their own), `memory.search` / `memory.add` (memory_read / memory_write: the plugin's own namespaces),
 * `capability.invoke` (invoke:<capability>: a capability another plugin provides), `agent.invoke`
 * (agent_invoke:<agent>: a one-step task for one agent through kCore, awaited up to a timeout).
 */
export const PLUGIN_BUS_METHODS = ["registry.list", "vault.read", "llm.chat", "events.subscribe", "events.broadcast", "net.fetch", "memory.search", "memory.add", "capability.invoke", "agent.invoke"] as const;
export const PluginBusMethodSchema = z.enum(PLUGIN_BUS_METHODS);
export type PluginBusMethod = z.infer<typeof PluginBusMethodSchema>;

/** The parameters of each ServiceBus method (the node parses them; a plugin's malformed call is refused, not run). */
export const PluginBusParamsSchemas = {
  "registry.list": z.strictObject({ capability: CapabilitySchema.optional(), type: z.string().max(32).optional(), limit: z.int().min(1).max(500).default(100) }),
  "vault.read": z.strictObject({ name: z.string().min(1).max(200) }),
  "llm.chat": z.record(z.string(), z.unknown()),
  "events.subscribe": z.strictObject({ types: z.array(z.enum(["SYSTEM_STATUS", "USER_NOTIFICATION", "CONFIG_UPDATE", "HEARTBEAT", "REGISTRY_CHANGE"])).max(8).optional() }),
  "net.fetch": z.strictObject({
    url: z.url({ protocol: /^https?$/ }).max(2048),
    method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]).default("GET"),
    headers: z.record(z.string().max(128), z.string().max(8192)).refine((headers) => Object.keys(headers).length <= 32, "at most 32 headers").default({}),
    body: z.string().max(1024 * 1024).optional(),
    timeoutMs: z.int().min(100).max(30_000).default(10_000),
  }),
  // The memory API's own shapes (one schema per shape), less what a plugin cannot use (an owner, relations, expansion).
  "memory.search": z.strictObject(SearchMemoryParamsSchema.pick({ q: true, namespace: true, limit: true, threshold: true }).shape),
  "memory.add": AddMemoryRequestSchema.pick({ text: true, namespace: true, metadata: true, ttlSeconds: true }),
  "capability.invoke": z.strictObject({ capability: CapabilitySchema, input: z.unknown() }),
  // Under the plugin host's own 60 s wait for any call, so the node's answer (a timeout included) always arrives.
  "agent.invoke": z.strictObject({
    agent: AgentIdSchema,
    /** The skill's capability; absent: the agent's only one. */
    capability: CapabilitySchema.optional(),
    input: z.record(z.string(), z.unknown()).default({}),
    /** The task's goal as kCore and the agent see it; absent: `plugin <id>: <capability or agent>`. */
    goal: z.string().min(1).max(4000).optional(),
    timeoutMs: z.int().min(100).max(55_000).default(30_000),
  }),
  "events.broadcast": z.strictObject({ topic: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "a topic: lower-case letters, digits and . _ -"), data: z.record(z.string(), z.unknown()).refine((data) => JSON.stringify(data).length <= 16_384, "must be at most 16 KiB of JSON") }),
} as const satisfies Record<PluginBusMethod, z.ZodType>;

/**
 * The IPC messages between the node and a plugin's host process (plugins/runtime/). Both sides parse every message
 * with these schemas; anything else ends the plugin. `id` pairs an `invoke` with its `result`, and a plugin's `call`
 * with the node's `reply` (two separate id spaces, one per direction).
 */
export const PluginHostRequestSchema = z.union([
  z.strictObject({ type: z.literal("invoke"), id: z.int().min(1), capability: CapabilitySchema, input: z.unknown() }),
  z.strictObject({ type: z.literal("reply"), id: z.int().min(1), ok: z.literal(true), output: z.unknown() }),
  z.strictObject({ type: z.literal("reply"), id: z.int().min(1), ok: z.literal(false), code: z.string(), error: z.string() }),
  /** A node event for a plugin that subscribed. */
  z.strictObject({ type: z.literal("event"), event: z.unknown() }),
]);
export type PluginHostRequest = z.infer<typeof PluginHostRequestSchema>;

export const PluginHostMessageSchema = z.union([
  /** The entrypoint loaded; the capabilities it implements. */
  z.strictObject({ type: z.literal("ready"), capabilities: z.array(CapabilitySchema).max(64) }),
  z.strictObject({ type: z.literal("result"), id: z.int().min(1), ok: z.literal(true), output: z.unknown() }),
  z.strictObject({ type: z.literal("result"), id: z.int().min(1), ok: z.literal(false), error: z.string().max(2000) }),
  /** The entrypoint could not be loaded (the process exits after sending it). */
  z.strictObject({ type: z.literal("failed"), error: z.string().max(2000) }),
  /** A ServiceBus call to the node. */
  z.strictObject({ type: z.literal("call"), id: z.int().min(1), method: z.string().max(64), params: z.unknown() }),
]);
export type PluginHostMessage = z.infer<typeof PluginHostMessageSchema>;
