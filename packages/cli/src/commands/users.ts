/**
 * @module commands/users
 * `kai users list|show|create|update|disable|enable|delete|reset-password|sessions` (scope `admin`): people
 * and agents. A user is named by id or username. Passwords are never taken from argv: `--password-stdin`, a
 * no-echo prompt, or `--generate-password`, which prints a random one-time password once (the user must
 * change it at their first sign-in).
 */
import { randomBytes } from "node:crypto";
import { Command } from "commander";
import type { ZodError } from "zod";
import { CreateUserRequestSchema, fieldErrorsFromZod, UpdateUserRequestSchema, type User } from "@kai/protocol";
import type { KaiClient } from "@kai/sdk";
import { addGlobalOptions, collectList, contextOf } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { cell, formatKeyValues, listCell, type Output } from "../output.js";
import { readSecret } from "../secret-input.js";
import { sessionRow, SESSION_HEADERS } from "./sessions.js";

const HEADERS = ["ID", "USERNAME", "KIND", "STATE", "ROLES", "METHODS", "LAST SIGN-IN"];
const userRow = (user: User) => [user.id, user.username, user.kind, user.state, listCell(user.roles), listCell(user.methods), cell(user.lastSignInAt)];

function describeUser(user: User): string {
  return formatKeyValues([
    ["id", user.id],
    ["username", user.username],
    ["display name", cell(user.displayName)],
    ["kind", user.kind],
    ["state", user.state],
    ["roles", listCell(user.roles)],
    ["scopes", listCell(user.scopes)],
    ["did", cell(user.did)],
    ["methods", listCell(user.methods)],
    ["must change password", user.mustChangePassword ? "yes" : "no"],
    ["created", user.createdAt],
    ["updated", user.updatedAt],
    ["last sign-in", cell(user.lastSignInAt)],
  ]);
}

/**
 * The user named by id or username. The API addresses users by id; a username is looked up in the list (admins
 * manage few enough users for that, and a script can always pass the id).
 */
async function findUser(client: KaiClient, ref: string): Promise<User> {
  for await (const user of client.users.listAll()) if (user.id === ref || user.username === ref) return user;
  throw new CliError(`no user "${ref}"`, "not_found", EXIT.notFound);
}

/** A random one-time password: 144 bits, base64url (24 characters), easy to copy, hopeless to guess. */
function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}

interface PasswordFlags {
  passwordStdin?: boolean;
  generatePassword?: boolean;
}

/** The password a command was given, how, or undefined when none was asked for. */
async function passwordFrom(flags: PasswordFlags, required: boolean): Promise<{ password: string; generated: boolean } | undefined> {
  if (flags.passwordStdin && flags.generatePassword) throw usageError("give --password-stdin or --generate-password, not both");
  if (flags.generatePassword) return { password: generatePassword(), generated: true };
  if (flags.passwordStdin || (required && process.stdin.isTTY)) return { password: await readSecret({ what: "password", confirm: true }), generated: false };
  if (required) throw usageError("not a terminal: give the password with --password-stdin, or --generate-password");
  return undefined;
}

/** Prints a generated password alone on stdout (so `$(kai users …)` is the password), shown this once. */
function showGenerated(out: Output, password: string): void {
  if (!out.json) out.line(password);
}

function zodDetails(error: ZodError, flag: (path: string) => string) {
  return fieldErrorsFromZod(error).map((detail) => ({ ...detail, path: flag(detail.path) }));
}

const FLAG_OF: Record<string, string> = { displayName: "--display-name", roles: "--role", did: "--did", password: "password", username: "<username>" };
const flagOf = (path: string) => FLAG_OF[path.split(".")[0] ?? ""] ?? `--${path}`;

function listCommand(): Command {
  const command = new Command("list").alias("ls").description(`list users (table: ${HEADERS.join(" ")})`);
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const users: User[] = [];
    for await (const user of client().users.listAll()) users.push(user);
    if (out.json) out.document({ users });
    else out.table(HEADERS, users.map(userRow), "no users");
  });
}

function showCommand(): Command {
  const command = new Command("show").alias("get").description("one user in full").argument("<user>", "id or username");
  addGlobalOptions(command);
  return command.action(async (ref: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const user = await findUser(client(), ref);
    if (out.json) out.document(user);
    else out.line(describeUser(user).trimEnd());
  });
}

function createCommand(): Command {
  const command = new Command("create")
    .description("create a person (password, or none for SSO/passkey only) or, with --agent, an agent that signs in with its key")
    .argument("<username>", "the user's name (an agent's: kClass:name)")
    .option("--display-name <name>", "a name to show")
    .option("--role <role>", "role, repeatable or comma-separated (admin, operator, developer, viewer, or a custom one)", collectList)
    .option("--password-stdin", "read the initial password from stdin")
    .option("--generate-password", "generate a one-time password and print it (the user must change it at first sign-in)")
    .option("--must-change-password", "the user must choose a new password at first sign-in")
    .option("--agent", "an agent: signs in with the key of --did")
    .option("--did <did>", "the agent's DID (kind:did:…#ed25519)");
  addGlobalOptions(command);
  return command.action(
    async (
      username: string,
      flags: PasswordFlags & { displayName?: string; role?: string[]; mustChangePassword?: boolean; agent?: boolean; did?: string },
      self: Command,
    ) => {
      const { out, client } = contextOf(self);
      if (flags.agent && (flags.passwordStdin || flags.generatePassword)) throw usageError("an agent has no password: it signs in with the key of --did");
      if (flags.agent && flags.did === undefined) throw usageError("--agent needs --did <did>");
      const secret = flags.agent ? undefined : await passwordFrom(flags, false);
      const parsed = CreateUserRequestSchema.safeParse({
        username,
        kind: flags.agent ? "agent" : "person",
        ...(flags.displayName !== undefined ? { displayName: flags.displayName } : {}),
        ...(flags.role !== undefined ? { roles: flags.role } : {}),
        ...(flags.did !== undefined ? { did: flags.did } : {}),
        ...(secret ? { password: secret.password } : {}),
        ...(secret?.generated || flags.mustChangePassword ? { mustChangePassword: true } : {}),
      });
      if (!parsed.success) throw usageError("invalid user", zodDetails(parsed.error, flagOf));
      const user = await client().users.create(parsed.data);
      if (out.json) out.document(secret?.generated ? { user, password: secret.password } : user);
      if (secret?.generated) showGenerated(out, secret.password);
      out.info(`created ${user.kind} ${user.username} (${user.id}), roles: ${listCell(user.roles)}${secret?.generated ? "; one-time password above, shown once" : ""}`);
    },
  );
}

function updateCommand(): Command {
  const command = new Command("update")
    .description("change a user's display name or roles")
    .argument("<user>", "id or username")
    .option("--display-name <name>", "a name to show (\"\" removes it)")
    .option("--role <role>", "set exactly these roles (repeatable or comma-separated)", collectList)
    .option("--add-role <role>", "add roles", collectList)
    .option("--remove-role <role>", "remove roles", collectList);
  addGlobalOptions(command);
  return command.action(async (ref: string, flags: { displayName?: string; role?: string[]; addRole?: string[]; removeRole?: string[] }, self: Command) => {
    const { out, client } = contextOf(self);
    if (flags.role !== undefined && (flags.addRole !== undefined || flags.removeRole !== undefined)) throw usageError("give --role, or --add-role/--remove-role, not both");
    const user = await findUser(client(), ref);
    let roles = flags.role;
    if (flags.addRole !== undefined || flags.removeRole !== undefined) {
      const removed = new Set(flags.removeRole ?? []);
      roles = [...new Set([...user.roles, ...(flags.addRole ?? [])])].filter((role) => !removed.has(role));
    }
    const parsed = UpdateUserRequestSchema.safeParse({
      ...(flags.displayName !== undefined ? { displayName: flags.displayName === "" ? null : flags.displayName } : {}),
      ...(roles !== undefined ? { roles } : {}),
    });
    if (!parsed.success) throw usageError("invalid change", zodDetails(parsed.error, flagOf));
    if (Object.keys(parsed.data).length === 0) throw usageError("nothing to change: give --display-name, --role, --add-role or --remove-role");
    const updated = await client().users.update(user.id, parsed.data);
    if (out.json) out.document(updated);
    else out.info(`updated ${updated.username}: roles ${listCell(updated.roles)}`);
  });
}

function stateCommand(name: "disable" | "enable"): Command {
  const description = name === "disable" ? "disable a user: their sessions end and their tokens stop working at once" : "enable a disabled user again";
  const command = new Command(name).description(description).argument("<user>", "id or username");
  addGlobalOptions(command);
  return command.action(async (ref: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const user = await findUser(client(), ref);
    const updated = await client().users.update(user.id, { state: name === "disable" ? "disabled" : "active" });
    if (out.json) out.document(updated);
    else out.info(`${updated.username} is ${updated.state}`);
  });
}

function deleteCommand(): Command {
  const command = new Command("delete").alias("rm").description("delete a user; their sessions end").argument("<user>", "id or username");
  addGlobalOptions(command);
  return command.action(async (ref: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const user = await findUser(client(), ref);
    await client().users.remove(user.id);
    if (out.json) out.document({ id: user.id, username: user.username, deleted: true });
    else out.info(`deleted ${user.username}`);
  });
}

function resetPasswordCommand(): Command {
  const command = new Command("reset-password")
    .description("set a new password for a user (their sessions end); by default they must change it at sign-in")
    .argument("<user>", "id or username")
    .option("--password-stdin", "read the new password from stdin")
    .option("--generate-password", "generate a one-time password and print it")
    .option("--no-must-change", "the user may keep the new password");
  addGlobalOptions(command);
  return command.action(async (ref: string, flags: PasswordFlags & { mustChange: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const secret = await passwordFrom(flags, true);
    if (secret === undefined) throw usageError("no password given");
    const parsed = UpdateUserRequestSchema.safeParse({ password: secret.password, mustChangePassword: flags.mustChange });
    if (!parsed.success) throw usageError("invalid password", zodDetails(parsed.error, flagOf));
    const user = await findUser(client(), ref);
    const updated = await client().users.update(user.id, parsed.data);
    if (out.json) out.document(secret.generated ? { user: updated, password: secret.password } : updated);
    if (secret.generated) showGenerated(out, secret.password);
    out.info(`new password for ${updated.username}${updated.mustChangePassword ? " (to be changed at sign-in)" : ""}; their sessions ended`);
  });
}

function sessionsCommand(): Command {
  const command = new Command("sessions").description(`a user's sessions (table: ${SESSION_HEADERS.join(" ")})`).argument("<user>", "id or username");
  addGlobalOptions(command);
  return command.action(async (ref: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const user = await findUser(client(), ref);
    const sessions = await client().users.sessions(user.id);
    if (out.json) out.document({ sessions });
    else out.table(SESSION_HEADERS, sessions.map(sessionRow), "no sessions of this user");
  });
}

export function usersCommand(): Command {
  return new Command("users")
    .alias("user")
    .description("people and agents who sign in (admin)")
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(createCommand())
    .addCommand(updateCommand())
    .addCommand(stateCommand("disable"))
    .addCommand(stateCommand("enable"))
    .addCommand(deleteCommand())
    .addCommand(resetPasswordCommand())
    .addCommand(sessionsCommand());
}
