/**
 * @module commands/memory
 * `kai memory add|search|show|delete`: semantic memory (issue 17, docs/data/memory.md). `add <text…>` stores a text in
 * a namespace (embedded by the node; the same text twice is one memory), `--meta key=value` adds metadata, `--ttl`
 * expires it, `--relates` links it to other memories. `search <query…>` prints the nearest memories with their
 * scores; `--filter key=value` keeps those whose metadata matches (inside the search: `--limit` results whenever that
 * many match). `delete <id>` deletes one; `delete --namespace n --filter k=v` or `--all` deletes many.
 * `reembed [--model m] [--wait]` moves every memory to another embedding model (admin), `reembed --status` and
 * `reembed --cancel` follow and stop it. `--json` prints the node's documents.
 */
import { Command } from "commander";
import { AddMemoryRequestSchema, DeleteMemoriesRequestSchema, fieldErrorsFromZod, type Memory, type ReembedStatus } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { cell, formatKeyValues } from "../output.js";

/** `key=value` pairs as an object (the value may itself contain `=`). */
function pairsOf(flag: string, items: string[] | undefined): Record<string, string> | undefined {
  if (!items || items.length === 0) return undefined;
  const pairs: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf("=");
    if (at <= 0) throw usageError(`${flag} takes key=value (got ${JSON.stringify(item)})`);
    pairs[item.slice(0, at)] = item.slice(at + 1);
  }
  return pairs;
}

function numberFlag(flag: string, value: string | undefined, check: (n: number) => boolean, rule: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || !check(number)) throw usageError(`${flag} must be ${rule}`);
  return number;
}

function printMemory(out: ReturnType<typeof contextOf>["out"], memory: Memory): void {
  out.line(
    formatKeyValues([
      ["id", memory.id],
      ["namespace", memory.namespace],
      ["owner", memory.owner],
      ["text", memory.text],
      ["metadata", Object.keys(memory.metadata).length > 0 ? JSON.stringify(memory.metadata) : "-"],
      ["relations", memory.relations.length > 0 ? memory.relations.join(", ") : "-"],
      ["model", `${memory.model} (${memory.dimensions} dimensions)`],
      ["created", memory.createdAt],
      ["expires", cell(memory.expiresAt ?? undefined)],
    ]),
  );
}

interface AddFlags {
  namespace?: string;
  meta?: string[];
  ttl?: string;
  relates?: string[];
}

function addCommand(): Command {
  const command = new Command("add")
    .description("store a memory (embedded by the node through its gateway; the same text twice is one memory) (scope memory:write)")
    .argument("<text...>", "the text to remember")
    .option("-n, --namespace <namespace>", "the namespace (default: default)")
    .option("--meta <key=value>", "metadata (repeatable)", collectList)
    .option("--ttl <seconds>", "forget it after this long")
    .option("--relates <id>", "a related memory of the same namespace (repeatable)", collectList);
  addGlobalOptions(command);
  return command.action(async (words: string[], flags: AddFlags, self: Command) => {
    const { out, client } = contextOf(self);
    const ttlSeconds = numberFlag("--ttl", flags.ttl, (n) => Number.isInteger(n) && n >= 1, "a whole number of seconds");
    const request = AddMemoryRequestSchema.safeParse({
      text: words.join(" "),
      ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
      ...(flags.meta ? { metadata: pairsOf("--meta", flags.meta) } : {}),
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      ...(flags.relates ? { relations: flags.relates } : {}),
    });
    if (!request.success) throw new CliError("invalid memory", "validation_failed", EXIT.validation, fieldErrorsFromZod(request.error));
    const outcome = await client().memory.add(request.data);
    if (out.json) return out.document(outcome);
    out.line(outcome.memory.id);
    out.info(outcome.created ? `remembered in ${outcome.memory.namespace}` : `already remembered in ${outcome.memory.namespace} (the same text): nothing new stored`);
  });
}

interface SearchFlags {
  namespace?: string;
  limit?: string;
  threshold?: string;
  filter?: string[];
  expand?: boolean;
  owner?: string;
}

function searchCommand(): Command {
  const command = new Command("search")
    .description("the memories nearest in meaning to a query, with scores (scope memory:read)")
    .argument("<query...>", "what to look for")
    .option("-n, --namespace <namespace>", "the namespace (default: default)")
    .option("--limit <n>", "at most this many (1-100)", "10")
    .option("--threshold <score>", "only results scoring at least this (-1 to 1)")
    .option("--filter <key=value>", "only memories whose metadata has this value (repeatable: all must hold)", collectList)
    .option("--expand", "also show the memories the results relate to")
    .option("--owner <owner>", "another owner's namespace (admin only)");
  addGlobalOptions(command);
  return command.action(async (words: string[], flags: SearchFlags, self: Command) => {
    const { out, client } = contextOf(self);
    const limit = numberFlag("--limit", flags.limit, (n) => Number.isInteger(n) && n >= 1 && n <= 100, "1 to 100")!;
    const threshold = numberFlag("--threshold", flags.threshold, (n) => n >= -1 && n <= 1, "a score between -1 and 1");
    const filter = pairsOf("--filter", flags.filter);
    const answer = await client().memory.search(words.join(" "), {
      limit,
      ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(filter ? { filter } : {}),
      ...(flags.expand ? { expand: true } : {}),
      ...(flags.owner !== undefined ? { owner: flags.owner } : {}),
    });
    if (out.json) return out.document(answer);
    out.table(
      ["SCORE", "ID", "TEXT", "RELATED TO"],
      answer.results.map((result) => [result.score.toFixed(3), result.memory.id, result.memory.text.replace(/\s+/g, " ").slice(0, 80), cell(result.relatedTo)]),
      "no memories match",
    );
  });
}

function showCommand(): Command {
  const command = new Command("show").description("one memory (scope memory:read)").argument("<id>", "the memory's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const memory = await client().memory.get(id);
    if (out.json) return out.document({ memory });
    printMemory(out, memory);
  });
}

interface DeleteFlags {
  namespace?: string;
  filter?: string[];
  all?: boolean;
  owner?: string;
}

function deleteCommand(): Command {
  const command = new Command("delete")
    .alias("rm")
    .description("delete a memory by id, or many: --namespace with --filter key=value or --all (scope memory:write)")
    .argument("[id]", "the memory's id")
    .option("-n, --namespace <namespace>", "delete in this namespace (with --filter or --all)")
    .option("--filter <key=value>", "the memories whose metadata has this value (repeatable: all must hold)", collectList)
    .option("--all", "every memory of the namespace")
    .option("--owner <owner>", "another owner's namespace (admin only)");
  addGlobalOptions(command);
  return command.action(async (id: string | undefined, flags: DeleteFlags, self: Command) => {
    const { out, client } = contextOf(self);
    if (id !== undefined) {
      if (flags.namespace !== undefined || flags.filter || flags.all) throw usageError("give either an id or --namespace with --filter/--all");
      await client().memory.delete(id);
      if (out.json) return out.document({ deleted: 1 });
      return out.info(`deleted ${id}`);
    }
    if (flags.namespace === undefined) throw usageError("give a memory id, or --namespace with --filter or --all");
    const request = DeleteMemoriesRequestSchema.safeParse({
      namespace: flags.namespace,
      ...(flags.filter ? { filter: pairsOf("--filter", flags.filter) } : {}),
      ...(flags.all ? { all: true } : {}),
      ...(flags.owner !== undefined ? { owner: flags.owner } : {}),
    });
    if (!request.success) throw new CliError("invalid delete", "validation_failed", EXIT.validation, fieldErrorsFromZod(request.error));
    const deleted = await client().memory.deleteWhere(request.data);
    if (out.json) return out.document({ deleted });
    out.info(`deleted ${deleted} memor${deleted === 1 ? "y" : "ies"} from ${flags.namespace}`);
  });
}

interface ReembedFlags {
  model?: string;
  wait?: boolean;
  status?: boolean;
  cancel?: boolean;
}

/** How often `--wait` asks for progress. */
const REEMBED_POLL_MS = 1_000;

function printReembed(out: ReturnType<typeof contextOf>["out"], status: ReembedStatus): void {
  out.line(
    formatKeyValues([
      ["state", status.state],
      ["model", cell(status.model ?? undefined)],
      ["progress", `${status.done} of ${status.total}${status.skipped > 0 ? ` (${status.skipped} gone before their turn)` : ""}`],
      ["instance", cell(status.instance ?? undefined)],
      ["started", cell(status.startedAt ?? undefined)],
      ["finished", cell(status.finishedAt ?? undefined)],
      ["error", status.error ? `${status.error.code}: ${status.error.message}` : "-"],
    ]),
  );
}

function reembedCommand(): Command {
  const command = new Command("reembed")
    .description("move every memory to another embedding model, in the background (scope admin); --status, --cancel")
    .option("--model <model>", "the model to move to (default: the node's memory.model)")
    .option("--wait", "follow the job until it ends (exit 1 when it fails)")
    .option("--status", "show the job's status and progress")
    .option("--cancel", "stop the running job after its current batch");
  addGlobalOptions(command);
  return command.action(async (flags: ReembedFlags, self: Command) => {
    const { out, client } = contextOf(self);
    if ([flags.status, flags.cancel, flags.model !== undefined || flags.wait].filter(Boolean).length > 1) throw usageError("give one of --status, --cancel, or a start (--model, --wait)");
    const memory = client().memory;
    let status = flags.status ? await memory.reembedStatus() : flags.cancel ? await memory.cancelReembed() : await memory.reembed(flags.model);
    if (flags.wait) {
      while (status.state === "running") {
        out.info(`re-embedding: ${status.done} of ${status.total}`);
        await new Promise((resolve) => setTimeout(resolve, REEMBED_POLL_MS));
        status = await memory.reembedStatus();
      }
    }
    if (out.json) out.document(status);
    else printReembed(out, status);
    if (flags.wait && status.state !== "completed") throw new CliError(`the re-embedding ended ${status.state}`, status.error?.code ?? "internal", EXIT.unexpected);
  });
}

export function memoryCommand(): Command {
  return new Command("memory")
    .description("semantic memory: texts the node embeds and finds again by meaning")
    .addCommand(addCommand())
    .addCommand(searchCommand())
    .addCommand(showCommand())
    .addCommand(deleteCommand())
    .addCommand(reembedCommand());
}
