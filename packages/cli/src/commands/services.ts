/**
 * @module commands/services
 * `kai services list|get|register|apply|heartbeat|rm`: discovery and registration from the shell.
 */
import { availableParallelism } from "node:os";
import { Command, Option } from "commander";
import {
  fieldErrorsFromZod,
  HeartbeatRequestSchema,
  SERVICE_SORTS,
  ServiceRegistrationSchema,
  type ServiceRecord,
  type ServiceRegistrationInput,
  type ServiceSort,
} from "@kai/protocol";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { CliError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { addFilterOptions, filterFromFlags, type FilterFlags } from "../filter-options.js";
import { readDocument } from "../input-file.js";
import { cell, formatKeyValues, listCell } from "../output.js";
import { applyManifest, BATCHES_IN_FLIGHT, type ApplyAction, type ApplyResult } from "../apply-manifest.js";
import { checkManifestFile } from "../manifest-check/parallel-check.js";
import { manifestSourceName } from "../manifest-check/source-name.js";

const TABLE_HEADERS = ["ID", "NAME", "TYPE", "STATUS", "HEALTH", "CAPABILITIES", "TAGS", "OWNER"];

function tableRow(service: ServiceRecord): string[] {
  return [service.id, service.name, service.type, service.status, service.health ?? "unknown", listCell(service.capabilities), listCell(service.tags), service.owner];
}

function describeService(service: ServiceRecord): string {
  const pairs: [string, string][] = [
    ["id", service.id],
    ["name", service.name],
    ["description", cell(service.description)],
    ["type", service.type],
    ["provider", cell(service.provider)],
    ["status", service.statusNote ? `${service.status} (${service.statusNote})` : service.status],
    ["capabilities", listCell(service.capabilities)],
    ["tags", listCell(service.tags)],
    ["url", cell(service.url)],
    ["protocol", cell(service.protocol)],
    ["auth", service.auth.credentialRef ? `${service.auth.type} (${service.auth.credentialRef})` : service.auth.type],
    ["endpoints", listCell(service.endpoints.map((endpoint) => `${endpoint.method} ${endpoint.path}`))],
    ["version", cell(service.version)],
    ["owner", service.owner],
    ["visibility", service.visibility],
    ["trust level", service.trustLevel],
    ["ttl", service.ttl === undefined ? "-" : `${service.ttl}s`],
    ["heartbeat", cell(service.heartbeat)],
    ["created", service.createdAt],
    ["updated", service.updatedAt],
    ["revision", String(service.revision)],
    ["metadata", Object.keys(service.metadata).length > 0 ? JSON.stringify(service.metadata) : "-"],
  ];
  return formatKeyValues(pairs);
}

function listCommand(): Command {
  const command = new Command("list")
    .alias("ls")
    .description("list services (table: ID NAME TYPE STATUS HEALTH CAPABILITIES TAGS OWNER)")
    .option("--limit <n>", "page size (1-1000, server default 100)", integerOption(1, 1000))
    .option("--cursor <cursor>", "continue after a previous page (its nextCursor)")
    .option("--all", "follow cursors and list every matching service")
    // The node sorts (every page, not just the one printed), so --cursor must come with the same --sort/--desc.
    .addOption(new Option("--sort <key>", "sort on the node by this key (default: registration order)").choices(SERVICE_SORTS))
    .option("--desc", "sort descending");
  addFilterOptions(command);
  addGlobalOptions(command, { quietShort: false });
  return command.action(async (flags: FilterFlags & { limit?: number; cursor?: string; all?: boolean; sort?: ServiceSort; desc?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const filter = { ...filterFromFlags(flags), ...(flags.sort ? { sort: flags.sort } : {}), ...(flags.desc ? { order: "desc" as const } : {}) };
    if (flags.all) {
      const services: ServiceRecord[] = [];
      for await (const service of client().services.listAll({ ...filter, ...(flags.limit ? { pageSize: flags.limit } : {}) })) services.push(service);
      if (out.json) out.document({ services, nextCursor: null });
      else out.table(TABLE_HEADERS, services.map(tableRow), "no services");
      return;
    }
    const page = await client().services.list({ ...filter, ...(flags.limit ? { limit: flags.limit } : {}), ...(flags.cursor ? { cursor: flags.cursor } : {}) });
    if (out.json) {
      out.document(page);
      return;
    }
    out.table(TABLE_HEADERS, page.services.map(tableRow), "no services");
    if (page.nextCursor) out.info(`more services: add --all, or --cursor ${page.nextCursor}`);
  });
}

function getCommand(): Command {
  const command = new Command("get").description("show one service").argument("<id>", "service id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const service = await client().services.get(id);
    if (out.json) out.document(service);
    else out.line(describeService(service).trimEnd());
  });
}

function registerCommand(): Command {
  const command = new Command("register")
    .description("register (or re-register) one service from a YAML or JSON registration document")
    .requiredOption("-f, --file <file>", "registration document; - reads stdin");
  addGlobalOptions(command);
  return command.action(async (flags: { file: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const document = await readDocument(flags.file);
    // Checked here with the server's own schema, so a bad file fails before a token or network is needed.
    const parsed = ServiceRegistrationSchema.safeParse(document);
    if (!parsed.success) throw new CliError(`${flags.file}: invalid registration`, "validation_failed", EXIT.validation, fieldErrorsFromZod(parsed.error));
    const { service, created } = await client().services.register(document as ServiceRegistrationInput);
    if (out.json) out.document({ created, service });
    else out.line(`${created ? "created" : "updated"} ${service.id} (revision ${service.revision})`);
  });
}

function applyCommand(): Command {
  const command = new Command("apply")
    .description("register every service of a manifest (`services:` list); unchanged services are left alone")
    .requiredOption("-f, --file <file>", "manifest file (YAML or JSON)")
    .option("--prune", "delete your services applied earlier from a file of this name that are no longer in it")
    .option("--name <name>", "the name the services are tagged with (metadata.appliedFrom) and --prune matches (default: the file's name; needed for stdin and <(…))")
    .option("--dry-run", "show what would change, change nothing")
    .option("--progress", "show progress on stderr: the entries checked, then after each batch of up to 1000 (default when stderr is a terminal)")
    .option("--in-flight <n>", `batches of up to 1000 on their way at once (default ${BATCHES_IN_FLIGHT}; more can help against a distant node)`, integerOption(1, 16));
  addGlobalOptions(command);
  return command.action(async (flags: { file: string; name?: string; prune?: boolean; dryRun?: boolean; progress?: boolean; inFlight?: number }, self: Command) => {
    const { out, client } = contextOf(self);
    const sourceName = manifestSourceName(flags.file, flags.name);
    const manifest = await checkManifestFile(flags.file, { threads: checkThreads(), sourceName, warn: (message) => out.warn(message) });
    const dryRun = flags.dryRun === true;
    if (dryRun) out.info("dry run: nothing is changed");
    const progress = applyProgress(flags.progress === true, out.quiet, dryRun);
    if (progress) process.stderr.write(`checked ${manifest.entries.length.toLocaleString("en-US")} entries on ${manifest.threads} thread${manifest.threads === 1 ? "" : "s"}\n`);
    // What was settled so far, for --json when a batch is refused part-way: a script must learn what was applied.
    const settledSoFar: ApplyResult[] = [];
    let results: ApplyResult[];
    try {
      results = await applyManifest(client(), sourceName, manifest, {
        prune: flags.prune === true,
        dryRun,
        onProgress: progress?.show,
        ...(flags.inFlight !== undefined ? { batchesInFlight: flags.inFlight } : {}),
        // One write per batch: a line each was 100,000 writes for a 100,000-entry manifest.
        onResults: (settled) => {
          if (out.json) {
            for (const result of settled) settledSoFar.push(result);
            return;
          }
          if (settled.length === 0) return;
          progress?.clear();
          out.line(settled.map((result) => `${resultWord(result.action, dryRun)} ${result.id}`).join("\n"));
        },
      });
    } catch (error) {
      progress?.clear();
      // The error itself goes to stderr as every error does; stdout still says what was done before it.
      if (out.json) out.document({ file: flags.file, dryRun, complete: false, results: settledSoFar });
      throw error;
    }
    if (out.json) out.document({ file: flags.file, dryRun, complete: true, results });
    else {
      const counts = new Map<string, number>();
      for (const result of results) {
        const word = resultWord(result.action, dryRun).trimEnd();
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
      out.info([...counts].map(([action, count]) => `${count} ${action}`).join(", ") || "the manifest is empty");
    }
  });
}

/**
 * Threads that check a large JSON manifest: `KAI_APPLY_THREADS` (1 checks on the main thread), else one per core up
 * to four. The cap is a choice, not a measurement (the bench machine has two cores): past a few threads the reading
 * and scanning on the main thread dominate, and each thread costs a start and holds its share of the output.
 */
function checkThreads(): number {
  const asked = process.env.KAI_APPLY_THREADS;
  if (asked !== undefined && asked !== "") {
    const threads = Number(asked);
    if (!Number.isInteger(threads) || threads < 1) throw new CliError(`KAI_APPLY_THREADS must be a whole number from 1, not "${asked}"`, "usage", EXIT.usage);
    return threads;
  }
  return Math.min(4, availableParallelism());
}

/** A result line's first word, padded to one width: in a dry run what would be done (`--json` keeps the action). */
function resultWord(action: ApplyAction, dryRun: boolean): string {
  const word = dryRun && action !== "unchanged" ? `would ${action === "created" ? "create" : action === "updated" ? "update" : "prune"}` : action;
  return word.padEnd(dryRun ? 12 : 9);
}

/**
 * `checked 100,000 entries on 2 threads` once the whole file passed (the command's action writes it), then
 * `applied 35,000/100,000` (in a dry run `compared …`) on stderr after each batch: on a terminal one line rewritten in place, else (`--progress`
 * into a file or pipe) one line per batch. Off when `--progress` was not given and stderr is not a terminal or
 * `--quiet` was.
 */
function applyProgress(asked: boolean, quiet: boolean, dryRun: boolean): { show(done: number, total: number): void; clear(): void } | undefined {
  const terminal = process.stderr.isTTY;
  if (!asked && (!terminal || quiet)) return undefined;
  const count = (n: number) => n.toLocaleString("en-US");
  // The line rewritten in place on a terminal, while it shows: result lines written to the same terminal must erase
  // it first, or they ran on from it (`applied 1,000/20,000updated   gen-01000`).
  let showing = false;
  return {
    show(done, total) {
      const line = `${dryRun ? "compared" : "applied"} ${count(done)}/${count(total)}`;
      if (!terminal) {
        process.stderr.write(`${line}\n`);
        return;
      }
      showing = done !== total;
      process.stderr.write(`\r\x1b[K${line}${showing ? "" : "\n"}`);
    },
    clear() {
      if (!showing) return;
      process.stderr.write("\r\x1b[K");
      showing = false;
    },
  };
}

function heartbeatCommand(): Command {
  const command = new Command("heartbeat")
    .description("send a heartbeat for a service (renews its ttl lease)")
    .argument("<id>", "service id")
    .addOption(new Option("--status <status>", "report the service as active or degraded").choices(["active", "degraded"]))
    .option("--note <text>", "a short note shown with the status");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { status?: string; note?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const body = HeartbeatRequestSchema.safeParse({ ...(flags.status ? { status: flags.status } : {}), ...(flags.note !== undefined ? { note: flags.note } : {}) });
    if (!body.success) throw new CliError("invalid heartbeat", "usage", EXIT.usage, fieldErrorsFromZod(body.error));
    const answer = await client().services.heartbeat(id, Object.keys(body.data).length > 0 ? body.data : undefined);
    if (out.json) out.document(answer);
    else out.line(`${answer.id} ${answer.status}${answer.expiresAt ? ` until ${answer.expiresAt}` : ""}`);
  });
}

function removeCommand(): Command {
  const command = new Command("rm").alias("remove").description("deregister a service").argument("<id>", "service id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().services.remove(id);
    if (out.json) out.document({ id, removed: true });
    else out.info(`removed ${id}`);
  });
}

function checkCommand(): Command {
  const command = new Command("check").description("probe a service live through its connector: health, latency, models").argument("<id>", "service id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const result = await client().services.check(id);
    if (out.json) out.document(result);
    else {
      out.line(formatKeyValues([
        ["service", result.serviceId],
        ["provider", result.provider ?? "-"],
        ["health", result.ok ? "ok" : `FAILING (${result.code ?? "error"}${result.message ? `: ${result.message}` : ""})`],
        ["latency", `${result.latencyMs.toFixed(1)} ms`],
        ["models", result.models?.length ? result.models.join(", ") : "-"],
      ]).trimEnd());
    }
    // A failing probe is a failing command, so scripts can test it.
    if (!result.ok) throw new CliError(`service ${id} is not healthy`, result.code ?? "unhealthy", EXIT.unreachable);
  });
}

export function servicesCommand(): Command {
  return new Command("services")
    .alias("svc")
    .description("list, inspect, register and remove services")
    .addCommand(listCommand())
    .addCommand(getCommand())
    .addCommand(registerCommand())
    .addCommand(applyCommand())
    .addCommand(heartbeatCommand())
    .addCommand(checkCommand())
    .addCommand(removeCommand());
}
