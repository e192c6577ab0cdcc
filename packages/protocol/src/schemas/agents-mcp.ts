/**
 * @module agents-mcp
 * MCP tool servers (issue 16): `POST /api/agents/mcp` adds a Model Context Protocol server by URL (streamable HTTP)
 * or by command (stdio: a process the node runs, so admins only). The node lists the server's tools and registers
 * a registry record of type `tool` whose capabilities are the tools (`mcp.<id>.<tool>`). How the node reaches the
 * server is kept under `metadata.mcp` of that record, without secrets: a command's environment names vault secrets,
 * never their values, so a node restarting can start the command again.
 */
import { z } from "zod";
import { TagSchema, VisibilitySchema } from "./service.js";

/** An MCP server's id: the record's id and the middle of its capabilities (`mcp.<id>.<tool>`), so short and lower-case. */
export const McpServerIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be lower-case letters, digits, _ and - (starting with a letter, at most 32)");

/** An environment variable's name for a command server. */
const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be an environment variable name");
/** A vault secret's name (the vault checks it further when it is read). */
const SecretNameSchema = z.string().min(1).max(256);

export const McpCommandSchema = z.strictObject({
  /** The program to run (looked up on the node's PATH). */
  command: z.string().min(1).max(1024),
  args: z.array(z.string().max(4096)).max(64).default([]),
  /** Environment variables: name → the NAME of a vault secret holding its value (read at each start; never stored). */
  env: z.record(EnvNameSchema, SecretNameSchema).default({}),
});
export type McpCommand = z.output<typeof McpCommandSchema>;

export const AddMcpServerRequestSchema = z
  .strictObject({
    id: McpServerIdSchema,
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    /** A streamable-HTTP MCP endpoint. */
    url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
    /** A stdio MCP server the node starts itself (admin only). */
    command: McpCommandSchema.optional(),
    /** Who may see the record, as for any registry record (default `private`). */
    visibility: VisibilitySchema.optional(),
    tags: z.array(TagSchema).max(32).optional(),
  })
  .refine((body) => (body.url === undefined) !== (body.command === undefined), { message: "give exactly one of url and command", path: ["url"] });
export type AddMcpServerRequestInput = z.input<typeof AddMcpServerRequestSchema>;
export type AddMcpServerRequest = z.output<typeof AddMcpServerRequestSchema>;

/** Where in an MCP tool record's metadata the server's part lives. */
export const MCP_METADATA_KEY = "mcp";

export const McpRecordMetadataSchema = z.object({
  /** How the node reaches the server. */
  kind: z.enum(["url", "command"]),
  url: z.string().optional(),
  command: McpCommandSchema.optional(),
  /** capability → the tool's own name on the server. */
  tools: z.record(z.string(), z.string()),
  /** What the server says it is (initialize), for people. */
  serverInfo: z.object({ name: z.string(), version: z.string() }).optional(),
});
export type McpRecordMetadata = z.infer<typeof McpRecordMetadataSchema>;
