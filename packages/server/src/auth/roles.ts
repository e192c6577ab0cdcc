/**
 * @module auth/roles
 * Roles: named sets of scopes. The built-in ones are fixed here (docs/security.md lists them); custom ones live in
 * the identity store and are held in memory (a node has a handful), reloaded when any instance changes one. A
 * user's effective scopes are the union of their roles' scopes; a token of theirs is capped by them on every request.
 */
import { BUILT_IN_ROLES, type Role, type Scope } from "@kai/protocol";
import type { IdentityStore, RoleRow } from "../storage/contracts/identity-store.js";
import { hasAnyScope } from "./principal.js";
import { ApiError, conflict, notFound } from "../errors.js";

export type BuiltInRole = (typeof BUILT_IN_ROLES)[number];

export const BUILT_IN_ROLE_SCOPES: Readonly<Record<BuiltInRole, readonly Scope[]>> = {
  admin: ["admin"],
  operator: ["services:read", "services:write", "services:heartbeat", "vault:read", "gateway:invoke", "metrics:read", "federation:admin", "agents:read", "agents:write", "tasks:run", "prompts:read", "prompts:write", "artifacts:read", "artifacts:write", "memory:read", "memory:write", "plugins:admin"],
  developer: ["services:read", "services:write", "services:heartbeat", "gateway:invoke", "vault:read", "agents:read", "agents:write", "tasks:run", "prompts:read", "prompts:write", "artifacts:read", "artifacts:write", "memory:read", "memory:write"],
  viewer: ["services:read", "metrics:read", "agents:read", "prompts:read", "artifacts:read", "memory:read"],
};

const BUILT_IN_DESCRIPTIONS: Readonly<Record<BuiltInRole, string>> = {
  admin: "everything, including users, roles and tokens",
  operator: "runs the node: services, gateway, metrics, federation peers, agents and tasks, prompts, artifacts and memory, plugins, reading the vault",
  developer: "registers and calls services and agents, runs tasks, keeps prompts, artifacts and memory, reads the vault",
  viewer: "reads services, agents, tasks, metrics, prompts, artifacts and memory",
};

export function isBuiltInRole(name: string): name is BuiltInRole {
  return (BUILT_IN_ROLES as readonly string[]).includes(name);
}

/** The scopes of `requested` that `allowed` covers (admin covers all; `vault:admin` covers vault:read/write). */
export function capScopes(requested: readonly Scope[], allowed: readonly Scope[]): Scope[] {
  return requested.filter((scope) => hasAnyScope({ scopes: allowed }, [scope]));
}

export class RoleCatalog {
  private custom = new Map<string, RoleRow>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly store: Pick<IdentityStore, "listRoles" | "upsertRole" | "deleteRole">, private readonly now: () => number = Date.now) {}

  /** Reads the custom roles from the store (at start, and when another instance changed one). */
  async load(): Promise<void> {
    this.custom = new Map((await this.store.listRoles()).map((row) => [row.name, row]));
    this.changed();
  }

  /** Told after any change (the access table recomputes users' scopes). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  exists(name: string): boolean {
    return isBuiltInRole(name) || this.custom.has(name);
  }

  /** The union of the roles' scopes; a role that no longer exists gives nothing. */
  scopesOf(roles: readonly string[]): Scope[] {
    const scopes = new Set<Scope>();
    for (const name of roles) {
      const own = isBuiltInRole(name) ? BUILT_IN_ROLE_SCOPES[name] : (this.custom.get(name)?.scopes as Scope[] | undefined);
      for (const scope of own ?? []) scopes.add(scope);
    }
    return [...scopes];
  }

  list(): Role[] {
    const builtIn = (BUILT_IN_ROLES as readonly BuiltInRole[]).map((name) => ({ name, description: BUILT_IN_DESCRIPTIONS[name], scopes: [...BUILT_IN_ROLE_SCOPES[name]], builtIn: true }));
    const custom = [...this.custom.values()].sort((a, b) => a.name.localeCompare(b.name)).map((row) => toRole(row));
    return [...builtIn, ...custom];
  }

  /** Creates or replaces a custom role. Built-in roles cannot be changed. */
  async put(name: string, input: { description?: string | null | undefined; scopes: readonly Scope[] }): Promise<{ role: Role; created: boolean }> {
    if (isBuiltInRole(name)) throw new ApiError("forbidden", `the built-in role ${name} cannot be changed`);
    const at = new Date(this.now()).toISOString();
    const existing = this.custom.get(name);
    const row: RoleRow = { name, description: input.description ?? existing?.description ?? null, scopes: [...new Set(input.scopes)], createdAt: existing?.createdAt ?? at, updatedAt: at };
    await this.store.upsertRole(row);
    this.custom.set(name, row);
    this.changed();
    return { role: toRole(row), created: !existing };
  }

  /** Deletes a custom role; `inUse` (the usernames holding it) refuses the deletion, so nobody loses scopes silently. */
  async delete(name: string, inUse: readonly string[]): Promise<void> {
    if (isBuiltInRole(name)) throw new ApiError("forbidden", `the built-in role ${name} cannot be deleted`);
    if (!this.custom.has(name)) throw notFound("role");
    if (inUse.length > 0) throw conflict(`the role is held by ${inUse.length} user(s); remove it from them first`);
    await this.store.deleteRole(name);
    this.custom.delete(name);
    this.changed();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function toRole(row: RoleRow): Role {
  return { name: row.name, description: row.description, scopes: row.scopes as Scope[], builtIn: false };
}
