/**
 * @module commands/me
 * `kai me show|update|password|token`: the signed-in user's own profile, preferences, password and personal API
 * tokens (minted, listed, revoked; they never hold more than the user's roles allow, and stop with them). Passwords come from a no-echo
 * prompt or stdin (`--password-stdin`: the current password on the first line, the new one on the second).
 */
import { Command, Option } from "commander";
import { CreateTokenRequestSchema, fieldErrorsFromZod, SCOPES, UpdateProfileRequestSchema } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";
import { cell, formatKeyValues, listCell } from "../output.js";
import { newPasswordProblem } from "../password-sign-in.js";
import { promptHidden, readStdinLines } from "../secret-input.js";

function showCommand(): Command {
  const command = new Command("show").description("your profile: username, roles, scopes, sign-in methods, preferences");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const me = await client().me.get();
    if (out.json) {
      out.document(me);
      return;
    }
    out.line(
      formatKeyValues([
        ["username", me.username],
        ["display name", cell(me.displayName)],
        ["kind", me.kind],
        ["roles", listCell(me.roles)],
        ["scopes", listCell(me.scopes)],
        ["methods", listCell(me.methods)],
        ["preferences", Object.keys(me.preferences).length > 0 ? JSON.stringify(me.preferences) : "-"],
        ["last sign-in", cell(me.lastSignInAt)],
      ]).trimEnd(),
    );
  });
}

function updateCommand(): Command {
  const command = new Command("update")
    .description("change your display name or preferences")
    .option("--display-name <name>", "a name to show (\"\" removes it)")
    .addOption(new Option("--theme <theme>", "the web app's theme").choices(["system", "light", "dark"]))
    .option("--language <tag>", "preferred language, e.g. en or de-CH")
    .option("--timezone <zone>", "IANA time zone, e.g. Europe/Berlin");
  addGlobalOptions(command);
  return command.action(async (flags: { displayName?: string; theme?: string; language?: string; timezone?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const preferences = Object.fromEntries(Object.entries({ theme: flags.theme, language: flags.language, timezone: flags.timezone }).filter(([, value]) => value !== undefined));
    const parsed = UpdateProfileRequestSchema.safeParse({
      ...(flags.displayName !== undefined ? { displayName: flags.displayName === "" ? null : flags.displayName } : {}),
      ...(Object.keys(preferences).length > 0 ? { preferences } : {}),
    });
    if (!parsed.success) throw usageError("invalid profile", fieldErrorsFromZod(parsed.error));
    if (Object.keys(parsed.data).length === 0) throw usageError("nothing to change: give --display-name, --theme, --language or --timezone");
    // The server merges preferences: the ones not named here stay as they are.
    const updated = await client().me.update(parsed.data);
    if (out.json) out.document(updated);
    else out.info("profile updated");
  });
}

function passwordCommand(): Command {
  const command = new Command("password")
    .description("change your password; your other sessions end")
    .option("--password-stdin", "read the current password (first line) and the new one (second line) from stdin");
  addGlobalOptions(command);
  return command.action(async (flags: { passwordStdin?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    let currentPassword: string;
    let newPassword: string;
    if (flags.passwordStdin) {
      const [first, second] = await readStdinLines();
      if (!first || !second) throw usageError("--password-stdin: the current password on the first line, the new one on the second");
      [currentPassword, newPassword] = [first, second];
    } else {
      if (!process.stdin.isTTY) throw usageError("not a terminal: use --password-stdin");
      currentPassword = await promptHidden("current password: ");
      newPassword = await promptHidden("new password: ");
      if (newPassword !== (await promptHidden("new password (again): "))) throw usageError("the two passwords differ");
    }
    const problem = newPasswordProblem(newPassword);
    if (problem !== undefined) throw usageError(`new password: ${problem}`);
    await client().me.changePassword({ currentPassword, newPassword });
    if (out.json) out.document({ changed: true });
    else out.info("password changed; your other sessions ended");
  });
}

interface CreateFlags {
  scope?: string[];
  ttl?: string;
  name?: string;
}

/** The options of minting a personal token, on `kai me token create` and on the shorthand `kai me token --scope …`. */
function withCreateOptions(command: Command, scopeRequired: boolean): Command {
  const scope = `scope, repeatable or comma-separated (${SCOPES.join(", ")})`;
  return (scopeRequired ? command.requiredOption("--scope <scope>", scope, collectList) : command.option("--scope <scope>", scope, collectList))
    .option("--ttl <duration>", "lifetime: 90s, 30m, 24h, 7d, 2w (default 30 days)")
    .option("--name <name>", "a note to recognise the token by in `kai me token list`");
}

async function mintToken(self: Command, flags: CreateFlags): Promise<void> {
  const { out, client } = contextOf(self);
  const parsed = CreateTokenRequestSchema.omit({ owner: true }).safeParse({
    scopes: flags.scope,
    ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
  });
  if (!parsed.success) throw usageError("invalid token request", fieldErrorsFromZod(parsed.error).map((d) => ({ ...d, path: `--${d.path.replace(/^scopes(\.\d+)?/, "scope")}` })));
  const created = await client().me.createToken(parsed.data);
  if (out.json) {
    out.document(created);
    return;
  }
  out.line(created.token);
  out.info(`token ${created.id} for ${created.owner} (${created.scopes.join(", ")}), expires ${created.expiresAt}`);
}

function tokenCreateCommand(): Command {
  const command = withCreateOptions(new Command("create").description("mint a personal API token (at most your session's scopes); prints the token on stdout, shown once"), true);
  addGlobalOptions(command);
  return command.action((flags: CreateFlags, self: Command) => mintToken(self, flags));
}

function tokenListCommand(): Command {
  const command = new Command("list").alias("ls").description("your API tokens, revoked and expired ones included (never the tokens themselves)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const tokens = await client().me.tokens();
    if (out.json) out.document({ tokens });
    else out.table(["ID", "SCOPES", "NAME", "CREATED", "EXPIRES", "REVOKED"], tokens.map((token) => [token.id, token.scopes.join(","), cell(token.name), token.createdAt, token.expiresAt, cell(token.revokedAt)]), "no tokens");
  });
}

function tokenRevokeCommand(): Command {
  const command = new Command("revoke").description("revoke one of your tokens; it stops working at once").argument("<id>", "token id (from `kai me token list`)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().me.revokeToken(id);
    if (out.json) out.document({ id, revoked: true });
    else out.info(`revoked ${id}`);
  });
}

/**
 * `kai me token create|list|revoke`, like `kai token` (admin) for one's own tokens. `kai me token --scope …` stays
 * the shorthand of `create` it was before the list existed.
 */
function tokenCommand(): Command {
  const command = withCreateOptions(
    new Command("token").alias("tokens").description("your personal API tokens: create (also `kai me token --scope …`), list, revoke"),
    false,
  );
  addGlobalOptions(command);
  // The shorthand's options are this command's own: those after a subcommand's name are the subcommand's.
  command.enablePositionalOptions();
  command.addCommand(tokenCreateCommand()).addCommand(tokenListCommand()).addCommand(tokenRevokeCommand());
  return command.action(async (flags: CreateFlags, self: Command) => {
    if (flags.scope === undefined) {
      self.outputHelp({ error: true });
      throw usageError("give a command (create, list, revoke), or --scope to mint a token");
    }
    await mintToken(self, flags);
  });
}

export function meCommand(): Command {
  // Positional options down to `kai me token`, whose own (shorthand) options must not swallow its subcommands';
  // the global options are declared here too, so that they are still accepted right after `me`.
  const command = addGlobalOptions(new Command("me").description("your own profile, password and personal tokens").enablePositionalOptions());
  return command.addCommand(showCommand()).addCommand(updateCommand()).addCommand(passwordCommand()).addCommand(tokenCommand());
}
