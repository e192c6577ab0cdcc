/**
 * @module commands/token
 * `kai token create|list|revoke` (admin): mint scoped tokens for services and people, and revoke them.
 */
import { Command } from "commander";
import { CreateTokenRequestSchema, fieldErrorsFromZod, SCOPES, type TokenInfo } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";
import { cell } from "../output.js";

function tokenRow(token: TokenInfo): string[] {
  return [token.id, token.owner, token.scopes.join(","), cell(token.name), token.expiresAt, cell(token.revokedAt)];
}

function createCommand(): Command {
  const command = new Command("create")
    .description("mint a token; prints the token itself on stdout (shown once, never again)")
    .requiredOption("--scope <scope>", `scope, repeatable or comma-separated (${SCOPES.join(", ")})`, collectList)
    .option("--owner <owner>", "whom the token acts for (default: your own owner)")
    .option("--ttl <duration>", "lifetime: 90s, 30m, 24h, 7d, 2w (default 30 days)")
    .option("--name <name>", "a note to recognise the token by in `kai token list`");
  addGlobalOptions(command);
  return command.action(async (flags: { scope: string[]; owner?: string; ttl?: string; name?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const request = {
      scopes: flags.scope,
      ...(flags.owner !== undefined ? { owner: flags.owner } : {}),
      ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
      ...(flags.name !== undefined ? { name: flags.name } : {}),
    };
    const parsed = CreateTokenRequestSchema.safeParse(request);
    if (!parsed.success) {
      const details = fieldErrorsFromZod(parsed.error).map((detail) => ({ ...detail, path: `--${detail.path.replace(/^scopes(\.\d+)?/, "scope")}` }));
      throw usageError("invalid token request", details);
    }
    const created = await client().tokens.create(parsed.data);
    if (out.json) {
      out.document(created);
      return;
    }
    out.line(created.token);
    out.info(`token ${created.id} for ${created.owner} (${created.scopes.join(", ")}), expires ${created.expiresAt}`);
  });
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description("list tokens (never the tokens themselves)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const tokens = await client().tokens.list();
    if (out.json) out.document({ tokens });
    else out.table(["ID", "OWNER", "SCOPES", "NAME", "EXPIRES", "REVOKED"], tokens.map(tokenRow), "no tokens");
  });
}

function revokeCommand(): Command {
  const command = new Command("revoke").description("revoke a token; it stops working at once").argument("<id>", "token id (from `kai token list`)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().tokens.revoke(id);
    if (out.json) out.document({ id, revoked: true });
    else out.info(`revoked ${id}`);
  });
}

export function tokenCommand(): Command {
  return new Command("token")
    .alias("tokens")
    .description("create, list and revoke access tokens (admin)")
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(revokeCommand());
}
