/**
 * @module agents/mcp/mcp-servers
 * The MCP tool servers the node is connected to (issue 16). `add` connects with the official MCP SDK client, lists
 * the tools and registers them as the capabilities of a registry record of type `tool` (as the caller: the
 * registry's owner and visibility rules apply). The record is the source of truth, not this map: a periodic pass
 * reads every MCP record, connects the ones not connected (so command servers start again when the node starts),
 * re-lists the tools of the others, puts a server that does not answer offline (and back when it answers), and
 * closes the connection of a record that is gone. The change feed closes it at once when the record is removed;
 * a server's `notifications/tools/list_changed` re-lists at once. Writes are conditional on the revision read.
 */
import { ListServicesQuerySchema, type AddMcpServerRequest, type ServiceRecord } from "@kai/protocol";
import { isAdmin, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import type { Logger } from "../../logging/logger.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { ChangeFeed } from "../../registry/change-feed.js";
import type { VaultActor } from "../../vault/vault.js";
import { McpConnection, type McpTarget } from "./mcp-connection.js";
import { mcpMetadataOf, registrationOf, requestOf } from "./mcp-registration.js";
import { catalogOf } from "./tool-capabilities.js";

/** Where env secrets of command servers are read (the node's vault). */
export interface McpSecrets {
  getSecret(name: string, actor: VaultActor): Promise<{ value: string }>;
}

export interface McpServersDeps {
  registry: RegistryService;
  logger: Logger;
  secrets?: McpSecrets;
  /** The registry's change feed: a removed record closes its connection at once. */
  feed?: Pick<ChangeFeed, "subscribe">;
  /** How often every MCP server is re-listed (ms); 0 = never (tests call `refreshAll`). Default 1 minute. */
  refreshMs?: number;
}

const DEFAULT_REFRESH_MS = 60_000;
const PAGE = 1000;
const MAX_REASON = 300;

/** The node itself, on a record's behalf: sees every record, acts as its owner. */
function nodeActingFor(owner: string): Principal {
  return { tokenId: "node:mcp", owner, scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };
}

/** A short reason, never a stack or the server's internals beyond a line. */
function reasonOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, MAX_REASON);
}

export class McpServers {
  private readonly registry: RegistryService;
  private readonly logger: Logger;
  private readonly secrets: McpSecrets | undefined;
  private readonly connections = new Map<string, Promise<McpConnection>>();
  private readonly unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(deps: McpServersDeps) {
    this.registry = deps.registry;
    this.logger = deps.logger;
    this.secrets = deps.secrets;
    this.unsubscribe = deps.feed?.subscribe((change) => {
      if (change.event.event === "deregistered" && this.connections.has(change.event.service.id)) void this.disconnect(change.event.service.id);
    });
    const every = deps.refreshMs ?? DEFAULT_REFRESH_MS;
    if (every > 0) {
      // The first pass at once: command servers added before a restart start again.
      void this.refreshAll();
      this.timer = setInterval(() => void this.refreshAll(), every);
      this.timer.unref();
    }
  }

  /** Connects, lists the tools and registers (201) or updates (200) the server's `tool` record. */
  async add(principal: Principal, request: AddMcpServerRequest): Promise<{ record: ServiceRecord; created: boolean }> {
    if (request.command !== undefined && !isAdmin(principal)) {
      throw new ApiError("forbidden", "only an admin may add an MCP server by command: it runs a process on the node");
    }
    const existing = await this.registry.get(principal, request.id).catch((error: unknown) => {
      if (error instanceof ApiError && error.code === "not_found") return null;
      throw error;
    });
    if (existing && mcpMetadataOf(existing) === undefined) {
      throw new ApiError("conflict", `${request.id} is already registered, and not as an MCP server; choose another id`);
    }
    const actor: VaultActor = { tokenId: principal.tokenId, owner: principal.owner, scopes: principal.scopes };
    const connection = await this.connect(request, actor);
    try {
      const catalog = catalogOf(request.id, await connection.listTools());
      if (Object.keys(catalog.tools).length === 0) throw new ApiError("validation_failed", `the MCP server ${request.id} offers no tools`);
      const result = await this.registry.register(principal, registrationOf(request, catalog, connection.serverInfo));
      await this.replace(request.id, connection);
      return result;
    } catch (error) {
      await connection.close();
      throw error instanceof ApiError ? error : new ApiError("mcp_server_unreachable", `the MCP server ${request.id} could not list its tools: ${reasonOf(error)}`);
    }
  }

  /** Removes the server's record (its owner or an admin) and closes the connection. */
  async remove(principal: Principal, id: string): Promise<void> {
    const record = await this.registry.get(principal, id);
    if (!mcpMetadataOf(record)) throw new ApiError("not_found", "MCP server not found");
    await this.registry.remove(principal, id);
    await this.disconnect(id);
  }

  /** The live connection to the server behind a record (connecting again from the record when there is none). */
  async connection(id: string): Promise<McpConnection> {
    const open = this.connections.get(id);
    if (open) return open;
    const record = await this.registry.get(nodeActingFor("node"), id);
    const mcp = mcpMetadataOf(record);
    if (!mcp) throw new ApiError("not_found", `${id} is not an MCP server`);
    const connecting = this.connect(requestOf(record, mcp), { tokenId: null, owner: record.owner, scopes: ["admin"] });
    this.connections.set(id, connecting);
    connecting.catch(() => {
      if (this.connections.get(id) === connecting) this.connections.delete(id);
    });
    return connecting;
  }

  /** One pass over every MCP record (see the module comment); passes never overlap. */
  refreshAll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.refreshing ??= this.refreshPass().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.refreshing?.catch(() => undefined);
    const ids = [...this.connections.keys()];
    await Promise.all(ids.map((id) => this.disconnect(id)));
  }

  private async refreshPass(): Promise<void> {
    const seen = new Set<string>();
    try {
      let cursor: string | undefined;
      do {
        const page = await this.registry.list(nodeActingFor("node"), ListServicesQuerySchema.parse({ type: ["tool"], limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) }));
        for (const record of page.services) {
          if (this.closed) return;
          if (!mcpMetadataOf(record)) continue;
          seen.add(record.id);
          await this.refreshOne(record).catch((error: unknown) => this.logger.warn({ service: record.id, err: reasonOf(error) }, "refreshing an MCP server failed"));
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
    } catch (error) {
      this.logger.warn({ err: reasonOf(error) }, "the MCP servers could not be listed from the registry");
      return;
    }
    for (const id of this.connections.keys()) if (!seen.has(id)) await this.disconnect(id);
  }

  /** Re-lists one server's tools: a changed list updates the record; no answer puts it offline. */
  private async refreshOne(record: ServiceRecord): Promise<void> {
    const mcp = mcpMetadataOf(record);
    if (!mcp) return;
    let catalog;
    let connection: McpConnection;
    try {
      connection = await this.connection(record.id);
      catalog = catalogOf(record.id, await connection.listTools());
    } catch (error) {
      const why = `the MCP server does not answer: ${reasonOf(error)}`;
      if (record.status !== "offline") this.logger.warn({ service: record.id }, why);
      await this.disconnect(record.id);
      await this.registry.setStatusBySystem(record.id, "offline", why.slice(0, 500), record.revision);
      return;
    }
    const next = registrationOf(requestOf(record, mcp), catalog, connection.serverInfo);
    const sameTools = JSON.stringify(next.capabilities) === JSON.stringify(record.capabilities) && JSON.stringify(next.metadata) === JSON.stringify(record.metadata);
    if (sameTools && record.status !== "offline") return;
    await this.registry
      .patch(nodeActingFor(record.owner), record.id, {
        capabilities: next.capabilities,
        metadata: next.metadata,
        ...(record.status === "offline" ? { status: "active" as const } : {}),
        expectedRevision: record.revision,
      })
      .catch((error: unknown) => {
        // Removed or changed meanwhile: the next pass sees the record as it is now.
        if (!(error instanceof ApiError && (error.code === "conflict" || error.code === "not_found"))) throw error;
      });
  }

  /** The server said its tools changed: re-list now. */
  private async toolsChanged(id: string): Promise<void> {
    if (this.closed) return;
    try {
      const record = await this.registry.get(nodeActingFor("node"), id);
      await this.refreshOne(record);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "not_found")) this.logger.warn({ service: id, err: reasonOf(error) }, "re-listing an MCP server's tools failed");
    }
  }

  private async connect(request: AddMcpServerRequest, actor: VaultActor): Promise<McpConnection> {
    const target = await this.targetOf(request, actor);
    try {
      return await McpConnection.open(target, {
        onToolsChanged: () => void this.toolsChanged(request.id),
        onClosed: () => void this.forget(request.id),
      });
    } catch (error) {
      const where = target.kind === "url" ? target.url : `the command ${target.command}`;
      throw new ApiError("mcp_server_unreachable", `the MCP server at ${where} could not be connected: ${reasonOf(error)}`);
    }
  }

  private async targetOf(request: AddMcpServerRequest, actor: VaultActor): Promise<McpTarget> {
    if (request.url !== undefined) return { kind: "url", url: request.url };
    const command = request.command!;
    const env: Record<string, string> = {};
    for (const [name, secret] of Object.entries(command.env)) {
      if (!this.secrets) throw new ApiError("unavailable", "this node has no vault to read the command's environment from");
      env[name] = (await this.secrets.getSecret(secret, actor)).value;
    }
    return { kind: "command", command: command.command, args: command.args, env };
  }

  private async replace(id: string, connection: McpConnection): Promise<void> {
    const before = this.connections.get(id);
    this.connections.set(id, Promise.resolve(connection));
    if (before) await before.then((old) => (old === connection ? undefined : old.close()), () => undefined);
  }

  /** The connection went away on its own (process exited, session ended): the next use connects again. */
  private forget(id: string): void {
    this.connections.delete(id);
  }

  private async disconnect(id: string): Promise<void> {
    const open = this.connections.get(id);
    this.connections.delete(id);
    if (open) await open.then((connection) => connection.close(), () => undefined);
  }
}
