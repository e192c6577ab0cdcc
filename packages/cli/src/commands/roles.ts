/**
 * @module commands/roles
 * `kai roles list|set|delete`: roles are named sets of scopes. The built-in ones (admin, operator, developer,
 * viewer) are fixed; custom roles are set and deleted here (scope `admin`).
 */
import { Command } from "commander";
import { fieldErrorsFromZod, PutRoleRequestSchema, RoleNameSchema, SCOPES, type Role } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";
import { cell, listCell } from "../output.js";

const HEADERS = ["NAME", "BUILT-IN", "SCOPES", "DESCRIPTION"];
const roleRow = (role: Role) => [role.name, role.builtIn ? "yes" : "no", listCell(role.scopes), cell(role.description)];

function checkRoleName(name: string): string {
  const parsed = RoleNameSchema.safeParse(name);
  if (!parsed.success) throw usageError(`invalid role name "${name}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description("list roles and their scopes");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const roles = await client().roles.list();
    if (out.json) out.document({ roles });
    else out.table(HEADERS, roles.map(roleRow), "no roles");
  });
}

function setCommand(): Command {
  const command = new Command("set")
    .description("create or replace a custom role (admin)")
    .argument("<name>", "role name: a-z, 0-9, - and _")
    .requiredOption("--scope <scope>", `scope, repeatable or comma-separated (${SCOPES.join(", ")})`, collectList)
    .option("--description <text>", "what the role is for");
  addGlobalOptions(command);
  return command.action(async (name: string, flags: { scope: string[]; description?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const parsed = PutRoleRequestSchema.safeParse({ scopes: flags.scope, ...(flags.description !== undefined ? { description: flags.description } : {}) });
    if (!parsed.success) {
      throw usageError("invalid role", fieldErrorsFromZod(parsed.error).map((detail) => ({ ...detail, path: `--${detail.path.replace(/^scopes(\.\d+)?/, "scope")}` })));
    }
    const role = await client().roles.put(checkRoleName(name), parsed.data);
    if (out.json) out.document(role);
    else out.info(`role ${role.name}: ${role.scopes.join(", ")}`);
  });
}

function deleteCommand(): Command {
  const command = new Command("delete").alias("rm").description("delete a custom role (admin)").argument("<name>", "role name");
  addGlobalOptions(command);
  return command.action(async (name: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().roles.remove(checkRoleName(name));
    if (out.json) out.document({ name, deleted: true });
    else out.info(`deleted role ${name}`);
  });
}

export function rolesCommand(): Command {
  return new Command("roles")
    .alias("role")
    .description("roles: named sets of scopes given to users")
    .addCommand(listCommand())
    .addCommand(setCommand())
    .addCommand(deleteCommand());
}
