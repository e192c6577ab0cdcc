/**
 * @module commands/prompt
 * `kai prompt list|show|save|history|diff|restore|label|render|delete`: the prompt store (issue 17). `save` takes the
 * whole request from a YAML/JSON file (`-f`) and/or the template as plain text (`--text <file>`, `-` for stdin), with
 * variables as `--var name[:type][?]` (`?`: optional) and tags, labels, a message on flags. `render` takes
 * `--var name=value` and turns each value into the variable's declared type (it reads the version first, then renders
 * exactly that version), so `--var n=3` is the number 3 for a number variable and the text "3" for a string one.
 * `--json` prints the node's documents.
 */
import { Command } from "commander";
import { fieldErrorsFromZod, parseJson, PROMPT_VARIABLE_TYPES, SavePromptRequestSchema, type PromptResponse, type PromptTemplate, type PromptVariable } from "@kai/protocol";
import { isApiError, reworded } from "../api-hints.js";
import { addGlobalOptions, collectList, contextOf, integerOption, type CommandContext } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { readDocument, readText } from "../input-file.js";
import { cell, formatKeyValues, listCell } from "../output.js";

type Out = CommandContext["out"];

const repeatable = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** A template as lines to print: a chat's messages as `role: content`. */
const templateLines = (template: PromptTemplate): string => (typeof template === "string" ? template : template.map((message) => `${message.role}: ${message.content}`).join("\n"));

/** `name[:type][?]` → a variable declaration. */
function variableSpec(spec: string): Record<string, unknown> {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?$/.exec(spec);
  if (!match) throw usageError(`--var ${spec}: expected name[:type][?], e.g. city, count:number, notes?`);
  const type = match[2] ?? "string";
  if (!(PROMPT_VARIABLE_TYPES as readonly string[]).includes(type)) throw usageError(`--var ${spec}: type must be one of ${PROMPT_VARIABLE_TYPES.join(", ")}`);
  return { name: match[1], type, required: match[3] === undefined };
}

/** A `--var name=value` text as the declared type (left as text when it does not convert: the node then says why). */
export function typedValue(variable: PromptVariable | undefined, text: string): unknown {
  switch (variable?.type) {
    case "number":
      return text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
    case "boolean":
      return text === "true" ? true : text === "false" ? false : text;
    case "json": {
      const parsed = parseJson(text);
      return parsed.ok ? parsed.value : text;
    }
    default:
      return text;
  }
}

function printPrompt(out: Out, shown: PromptResponse): void {
  if (out.json) return out.document(shown);
  const { prompt, version } = shown;
  const labels = Object.entries(prompt.labels).map(([label, number]) => `${label}=${number}`);
  out.line(
    formatKeyValues([
      ["name", prompt.name],
      ["version", `${version.version} of ${prompt.latestVersion}${version.restoredFrom !== undefined ? ` (restored from ${version.restoredFrom})` : ""}`],
      ["labels", listCell(labels)],
      ["owner", prompt.owner],
      ["visibility", prompt.visibility],
      ["tags", listCell(prompt.tags)],
      ["description", cell(prompt.description)],
      ["variables", listCell(version.variables.map((variable) => `${variable.name}:${variable.type}${variable.required ? "" : "?"}`))],
      ["saved", `${version.createdAt} by ${version.author}${version.message ? `: ${version.message}` : ""}`],
    ]),
  );
  out.line("");
  out.line(templateLines(version.template));
}

function selection(flags: { version?: number; label?: string }): { version?: number; label?: string } {
  if (flags.version !== undefined && flags.label !== undefined) throw usageError("give --version or --label, not both");
  return { ...(flags.version !== undefined ? { version: flags.version } : {}), ...(flags.label !== undefined ? { label: flags.label } : {}) };
}

function listCommand(): Command {
  const command = new Command("list")
    .alias("ls")
    .description("prompts you may see, by name; --search finds words in names, descriptions, tags and templates (scope prompts:read)")
    .option("-s, --search <words>", "every word must start a word of the prompt")
    .option("--tag <tag>", "only prompts with this tag")
    .option("--owner <owner>", "only this owner's prompts")
    .option("--limit <n>", "at most this many", integerOption(1, 500), 50);
  addGlobalOptions(command);
  return command.action(async (flags: { search?: string; tag?: string; owner?: string; limit: number }, self: Command) => {
    const { out, client } = contextOf(self);
    const page = await client().prompts.list({ limit: flags.limit, ...(flags.search ? { q: flags.search } : {}), ...(flags.tag ? { tag: flags.tag } : {}), ...(flags.owner ? { owner: flags.owner } : {}) });
    if (out.json) return out.document(page);
    out.table(
      ["NAME", "LATEST", "LABELS", "VISIBILITY", "OWNER", "TAGS"],
      page.prompts.map((prompt) => [
        prompt.name,
        String(prompt.latestVersion),
        listCell(Object.entries(prompt.labels).filter(([label]) => label !== "latest").map(([label, number]) => `${label}=${number}`)),
        prompt.visibility,
        prompt.owner,
        listCell(prompt.tags),
      ]),
      "no prompts",
    );
  });
}

function showCommand(): Command {
  const command = new Command("show")
    .description("a prompt and one version: --version, --label (an unknown label is an error), else latest (scope prompts:read)")
    .argument("<name>", "the prompt's name")
    .option("--version <n>", "this version", integerOption(1))
    .option("--label <label>", "the version this label points at");
  addGlobalOptions(command);
  return command.action(async (name: string, flags: { version?: number; label?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    printPrompt(out, await client().prompts.get(name, selection(flags)));
  });
}

interface SaveFlags {
  file?: string;
  text?: string;
  var?: string[];
  tag?: string[];
  label?: string[];
  description?: string;
  visibility?: string;
  message?: string;
}

/**
 * The node says "declare it in variables" of a `{{name}}` the template uses but does not declare, which is the
 * request's field; on the command line a variable is declared with `--var`, so the message says that too.
 */
function withVarHint(error: unknown): unknown {
  if (!isApiError(error, "prompt_template_invalid")) return error;
  const undeclared = (error.details ?? []).filter((detail) => detail.path === "template" && / is not a declared variable/.test(detail.message));
  if (undeclared.length === 0) return error;
  const names = undeclared.map((detail) => /\{\{([^}]*)\}\}/.exec(detail.message)?.[1]).filter((name): name is string => name !== undefined);
  const example = names.map((name) => `--var ${name}`).join(" ");
  return reworded(error, `${error.message}: declare each variable the template uses with --var name[:type][?]${example ? ` (here: ${example})` : ""}, or in the file's variables`);
}

function saveCommand(): Command {
  const command = new Command("save")
    .description("save a new version of a prompt (the first save creates it; scope prompts:write)")
    .argument("<name>", "the prompt's name")
    .option("-f, --file <file>", "the request as YAML or JSON: {template, variables, tags, description, visibility, message, labels}; `-` reads stdin")
    .option("--text <file>", "the template as plain text (overrides the file's); `-` reads stdin")
    .option("--var <spec>", "a variable: name[:type][?] (type string|number|boolean|json; ? = optional); repeatable", repeatable)
    .option("--tag <tags>", "tags (repeatable or comma-separated)", collectList)
    .option("--label <labels>", "labels to move onto the new version (repeatable or comma-separated)", collectList)
    .option("--description <text>", "what the prompt is for")
    .option("--visibility <visibility>", "private or shared")
    .option("-m, --message <text>", "why this version");
  addGlobalOptions(command);
  return command.action(async (name: string, flags: SaveFlags, self: Command) => {
    const { out, client } = contextOf(self);
    if (flags.file === "-" && flags.text === "-") throw usageError("only one of --file and --text can read stdin");
    const base = flags.file !== undefined ? await readDocument(flags.file) : {};
    if (typeof base !== "object" || base === null || Array.isArray(base)) throw usageError(`${flags.file}: expected a mapping of the request's fields`);
    const request: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    if (flags.text !== undefined) request.template = await readText(flags.text);
    if (flags.var) request.variables = [...((request.variables as unknown[] | undefined) ?? []), ...flags.var.map(variableSpec)];
    if (flags.tag) request.tags = flags.tag;
    if (flags.label) request.labels = flags.label;
    if (flags.description !== undefined) request.description = flags.description;
    if (flags.visibility !== undefined) request.visibility = flags.visibility;
    if (flags.message !== undefined) request.message = flags.message;
    if (request.template === undefined) throw usageError("give the template: --text <file> or a file (-f) with a template");
    const parsed = SavePromptRequestSchema.safeParse(request);
    if (!parsed.success) throw new CliError("invalid prompt", "validation_failed", EXIT.validation, fieldErrorsFromZod(parsed.error));
    const saved = await client().prompts.save(name, parsed.data).catch((error: unknown) => {
      throw withVarHint(error);
    });
    if (out.json) return out.document(saved);
    out.line(`${saved.prompt.name} version ${saved.version.version}`);
  });
}

function historyCommand(): Command {
  const command = new Command("history")
    .description("a prompt's versions, newest first (scope prompts:read)")
    .argument("<name>", "the prompt's name")
    .option("--limit <n>", "at most this many", integerOption(1, 500), 50);
  addGlobalOptions(command);
  return command.action(async (name: string, flags: { limit: number }, self: Command) => {
    const { out, client } = contextOf(self);
    const page = await client().prompts.versions(name, { limit: flags.limit });
    if (out.json) return out.document(page);
    out.table(
      ["VERSION", "SAVED", "AUTHOR", "TYPE", "MESSAGE"],
      page.versions.map((version) => [String(version.version), version.createdAt, version.author, version.type, cell(version.message)]),
      "no versions",
    );
  });
}

function diffCommand(): Command {
  const command = new Command("diff")
    .description("what changed between two versions (scope prompts:read)")
    .argument("<name>", "the prompt's name")
    .argument("<from>", "the older version", integerOption(1))
    .argument("<to>", "the newer version", integerOption(1));
  addGlobalOptions(command);
  return command.action(async (name: string, from: number, to: number, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const diff = await client().prompts.diff(name, from, to);
    if (out.json) return out.document(diff);
    out.line(`--- ${name} version ${from}`);
    out.line(`+++ ${name} version ${to}`);
    for (const line of diff.template) out.line(`${line.op}${line.text}`);
    const { added, removed, changed } = diff.variables;
    if (added.length + removed.length + changed.length > 0) {
      out.line("");
      out.line(formatKeyValues([["variables added", listCell(added)], ["variables removed", listCell(removed)], ["variables changed", listCell(changed)]]));
    }
  });
}

function restoreCommand(): Command {
  const command = new Command("restore")
    .description("save a new version copying an old one (scope prompts:write)")
    .argument("<name>", "the prompt's name")
    .argument("<version>", "the version to copy", integerOption(1))
    .option("-m, --message <text>", "why");
  addGlobalOptions(command);
  return command.action(async (name: string, version: number, flags: { message?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const restored = await client().prompts.restore(name, version, flags.message);
    if (out.json) return out.document(restored);
    out.line(`${name} version ${restored.version.version} (restored from ${version})`);
  });
}

function labelCommand(): Command {
  const command = new Command("label")
    .description("point a label (production, staging, …) at a version, or --remove it; latest is automatic (scope prompts:write)")
    .argument("<name>", "the prompt's name")
    .argument("<label>", "the label")
    .argument("[version]", "the version", integerOption(1))
    .option("--remove", "remove the label (reads by it fail from then on)");
  addGlobalOptions(command);
  return command.action(async (name: string, label: string, version: number | undefined, flags: { remove?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    if ((version === undefined) === !flags.remove) throw usageError("give a version, or --remove");
    const prompt = flags.remove ? await client().prompts.removeLabel(name, label) : await client().prompts.setLabel(name, label, version!);
    if (out.json) return out.document({ prompt });
    out.info(flags.remove ? `${name}: ${label} removed` : `${name}: ${label} → version ${version}`);
  });
}

function renderCommand(): Command {
  const command = new Command("render")
    .description("render a version with variables: --var name=value, each as its declared type (scope prompts:read)")
    .argument("<name>", "the prompt's name")
    .option("--version <n>", "this version", integerOption(1))
    .option("--label <label>", "the version this label points at")
    .option("--var <name=value>", "a variable's value (repeatable)", repeatable);
  addGlobalOptions(command);
  return command.action(async (name: string, flags: { version?: number; label?: string; var?: string[] }, self: Command) => {
    const { out, client } = contextOf(self);
    const chosen = await client().prompts.get(name, selection(flags));
    const declared = new Map(chosen.version.variables.map((variable) => [variable.name, variable]));
    const variables: Record<string, unknown> = {};
    for (const pair of flags.var ?? []) {
      const at = pair.indexOf("=");
      if (at <= 0) throw usageError(`--var ${pair}: expected name=value`);
      const key = pair.slice(0, at);
      variables[key] = typedValue(declared.get(key), pair.slice(at + 1));
    }
    // Exactly the version just read (a label may move meanwhile).
    const rendered = await client().prompts.render(name, { version: chosen.version.version, variables });
    if (out.json) return out.document(rendered);
    out.line(rendered.text ?? (rendered.messages ?? []).map((message) => `${message.role}: ${message.content}`).join("\n"));
  });
}

function deleteCommand(): Command {
  const command = new Command("delete").alias("rm").description("delete a prompt with every version (scope prompts:write)").argument("<name>", "the prompt's name");
  addGlobalOptions(command);
  return command.action(async (name: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().prompts.delete(name);
    if (out.json) return out.document({ deleted: name });
    out.info(`deleted ${name}`);
  });
}

export function promptCommand(): Command {
  return new Command("prompt")
    .description("the prompt store: versioned prompts and templates with typed variables, labels, search, render")
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(saveCommand())
    .addCommand(historyCommand())
    .addCommand(diffCommand())
    .addCommand(restoreCommand())
    .addCommand(labelCommand())
    .addCommand(renderCommand())
    .addCommand(deleteCommand());
}
