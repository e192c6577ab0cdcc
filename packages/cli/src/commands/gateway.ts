/**
 * @module commands/gateway
 * Calling services through the gateway from a terminal:
 *   kai chat [prompt…]        one chat turn, streamed to the terminal (stdin when no prompt is given); without
 *                             -m the only chat model this token may use, or a usage error listing them
 *   kai models                the models this token may use (`--capability` narrows to services offering it)
 *   kai route <capability>    the generic form: a JSON request in, the answer and who served it out
 *   kai connectors [id]       the provider connectors, their operations and the request parameters each honours
 *   kai services check <id>   a live probe of one service through its connector (in services.ts)
 * Routing hints come from flags (--tag, --prefer-local, --strategy, --fallback, --service, --max-latency).
 * Which service answered and the gateway's own overhead go to stderr, so stdout stays the model's text.
 */
import { Command, Option } from "commander";
import { ROUTING_STRATEGIES, RoutingHintsSchema, fieldErrorsFromZod, parseJson, type RoutingHints } from "@kai/protocol";
import type { ModelEntry } from "@kai/protocol";
import type { KaiClient, ServedInfo } from "@kai/sdk";
import { addGlobalOptions, collectList, contextOf, integerOption } from "../command-kit.js";
import { CliError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { readDocument, readStdin } from "../input-file.js";
import { terminalSafe } from "../output.js";

interface HintFlags {
  tag?: string[];
  preferLocal?: boolean;
  strategy?: string;
  fallback?: string[];
  service?: string;
  maxLatency?: number;
}

function addHintOptions(command: Command): Command {
  return command
    .option("--tag <tag>", "only services with this tag (repeatable, all must match)", collectList)
    .option("--prefer-local", "try local services first")
    .addOption(new Option("--strategy <name>", "how candidates are ordered").choices([...ROUTING_STRATEGIES]))
    .option("--fallback <id>", "only these services, in this order (repeatable)", collectList)
    .option("--service <id>", "pin to one service")
    .option("--max-latency <ms>", "skip services slower than this (recent average)", integerOption(1, 3_600_000));
}

function hintsFrom(flags: HintFlags): RoutingHints | undefined {
  const candidate = {
    ...(flags.tag?.length ? { tags: flags.tag } : {}),
    ...(flags.preferLocal ? { preferLocal: true } : {}),
    ...(flags.strategy ? { strategy: flags.strategy } : {}),
    ...(flags.fallback?.length ? { fallback: flags.fallback } : {}),
    ...(flags.service ? { serviceId: flags.service } : {}),
    ...(flags.maxLatency !== undefined ? { maxLatencyMs: flags.maxLatency } : {}),
  };
  if (Object.keys(candidate).length === 0) return undefined;
  const parsed = RoutingHintsSchema.safeParse(candidate);
  if (!parsed.success) throw new CliError("invalid routing hints", "usage", EXIT.usage, fieldErrorsFromZod(parsed.error));
  return parsed.data;
}

function describeServed(served: Pick<ServedInfo, "servedBy" | "attempts" | "overheadMs">): string {
  return `served by ${served.servedBy.id || "?"} (${served.attempts} attempt${served.attempts === 1 ? "" : "s"}, gateway overhead ${served.overheadMs.toFixed(2)} ms)`;
}

/**
 * The names that route by model, without their `<serviceId>/<model>` pinned forms (`/v1/models` lists both: a pinned
 * id is a visible service's id, a slash, and a name the list also has).
 */
export function routableNames(entries: readonly ModelEntry[]): string[] {
  const ids = new Set(entries.map((entry) => entry.id));
  const pinned = (id: string) => {
    const slash = id.indexOf("/");
    return slash > 0 && ids.has(id.slice(slash + 1));
  };
  return [...new Set(entries.map((entry) => entry.id).filter((id) => !pinned(id)))];
}

/**
 * `kai chat` without -m: the one chat model this token may use. With none or several there is nothing sensible to
 * guess (a literal "default" would be routed as a model nobody serves), so the user is told which there are.
 */
async function onlyChatModel(client: KaiClient, signal: AbortSignal): Promise<string> {
  const names = routableNames(await client.gateway.models({ capability: "llm_chat", signal }));
  if (names.length === 1) return names[0]!;
  if (names.length === 0) {
    throw new CliError("no chat model is available to this token: register a service offering llm_chat with its models, or name one with -m", "model_not_found", EXIT.notFound);
  }
  const shown = names.slice(0, 20).join(", ");
  throw new CliError(`${names.length} chat models are available; choose one with -m <model> (kai models --capability llm_chat lists them): ${shown}${names.length > 20 ? ", …" : ""}`, "usage", EXIT.usage);
}

/** Ctrl-C cancels the call (and with it the upstream request) instead of killing the process mid-write. */
function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once("SIGINT", onInterrupt);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onInterrupt) };
}

export function chatCommand(): Command {
  const command = new Command("chat")
    .description("one chat turn through the gateway, streamed to the terminal")
    .argument("[prompt...]", "the message (read from stdin when omitted)")
    .option("-m, --model <model>", "model name, or <serviceId>/<model> to pin a service (default: the only chat model there is)")
    .option("--system <text>", "a system message")
    .option("--no-stream", "wait for the whole answer instead of streaming it");
  addHintOptions(command);
  addGlobalOptions(command);
  return command.action(async (words: string[], flags: HintFlags & { model?: string; system?: string; stream: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const prompt = words.length > 0 ? words.join(" ") : (await readStdin()).trim();
    if (!prompt) throw new CliError("nothing to say: give a prompt or pipe one on stdin", "usage", EXIT.usage);
    const messages = [...(flags.system ? [{ role: "system" as const, content: flags.system }] : []), { role: "user" as const, content: prompt }];
    const routingHints = hintsFrom(flags);
    const { signal, dispose } = interruptSignal();
    try {
      const model = flags.model ?? (await onlyChatModel(client(), signal));
      if (flags.model === undefined) out.info(`model: ${model}`);
      const request = { model, messages };
      const options = { signal, ...(routingHints ? { routingHints } : {}) };
      if (!flags.stream || out.json) {
        const answer = await client().gateway.chat(request, options);
        // `servedBy` as `kai route --json` prints it ({id, provider}).
        if (out.json) out.document({ ...answer.completion, servedBy: answer.servedBy, attempts: answer.attempts, overheadMs: answer.overheadMs });
        else {
          out.line(String(answer.completion.choices[0]?.message?.content ?? ""));
          out.info(describeServed(answer));
        }
        return;
      }
      const stream = await client().gateway.chatStream(request, options);
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        // The model's words as they come, made safe for a terminal like everything else printed (output.ts).
        if (typeof text === "string") process.stdout.write(terminalSafe(text));
      }
      process.stdout.write("\n");
      out.info(describeServed(stream));
    } finally {
      dispose();
    }
  });
}

export function modelsCommand(): Command {
  const command = new Command("models")
    .description("the models this token may use through the gateway (a name routes; <serviceId>/<model> pins a service)")
    .option("--capability <name>", "only models of services offering this capability (e.g. llm_chat, embeddings)");
  addGlobalOptions(command);
  return command.action(async (flags: { capability?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const entries = await client().gateway.models(flags.capability ? { capability: flags.capability } : {});
    if (out.json) out.document(entries);
    else out.table(["ID", "OWNED BY"], entries.map((entry) => [entry.id, entry.owned_by ?? ""]), "no models: register a service with its models (metadata.models) or one whose provider lists them");
  });
}

/** A parameter's type as a short word for the table: `number`, `integer`, `text`, `a|b|c`, `text|texts`. */
export function parameterType(schema: Record<string, unknown>): string {
  const flat = (variant: Record<string, unknown>): Record<string, unknown>[] => (Array.isArray(variant.anyOf) ? (variant.anyOf as Record<string, unknown>[]).flatMap(flat) : [variant]);
  const words = flat(schema)
    .filter((variant) => variant.type !== "null")
    .map((variant) => {
      if (Array.isArray(variant.enum)) return variant.enum.map(String).join("|");
      if (variant.type === "string") return "text";
      if (variant.type === "array") return `list of ${parameterType((variant.items as Record<string, unknown> | undefined) ?? {})}`;
      return typeof variant.type === "string" ? variant.type : "any";
    });
  return [...new Set(words)].join(" or ") || "any";
}

export function connectorsCommand(): Command {
  const command = new Command("connectors")
    .description("the provider connectors this node has, and per operation the request parameters each honours")
    .argument("[id]", "only this connector (a service's provider, e.g. ollama)");
  addGlobalOptions(command);
  return command.action(async (id: string | undefined, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const all = await client().gateway.connectors();
    const chosen = id === undefined ? all : all.filter((connector) => connector.id === id);
    if (id !== undefined && chosen.length === 0) throw new CliError(`no connector "${id}"; there are: ${all.map((connector) => connector.id).join(", ")}`, "not_found", EXIT.notFound);
    if (out.json) return out.document(id === undefined ? chosen : chosen[0]);
    if (id === undefined) {
      // The overview: one row per connector; parameters are shown for one connector (`kai connectors <id>`).
      out.table(["ID", "NAME", "OPERATIONS"], chosen.map((connector) => [connector.id, connector.displayName, connector.operations.map((entry) => entry.operation).join(", ")]), "no connectors");
      return;
    }
    const rows = chosen[0]!.operations.flatMap((entry) => {
      const properties = Object.entries(entry.parameters?.properties ?? {});
      return properties.length === 0 ? [[entry.operation, "(none)", ""]] : properties.map(([name, schema]) => [entry.operation, name, parameterType(schema)]);
    });
    out.table(["OPERATION", "PARAMETER", "TYPE"], rows, "no operations");
  });
}

export function routeCommand(): Command {
  const command = new Command("route")
    .description("route one request for a capability (llm_chat, embeddings, image_generation, vector_storage, …)")
    .argument("<capability>", "the capability to route")
    .option("-f, --file <path>", "the request as JSON or YAML ('-' = stdin)")
    .option("-d, --data <json>", "the request as inline JSON")
    .option("--operation <name>", "for capabilities with several operations (e.g. vector_storage: query, upsert)");
  addHintOptions(command);
  addGlobalOptions(command);
  return command.action(async (capability: string, flags: HintFlags & { file?: string; data?: string; operation?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    if ((flags.file === undefined) === (flags.data === undefined)) throw new CliError("give the request with exactly one of --file or --data", "usage", EXIT.usage);
    let request: unknown;
    if (flags.data !== undefined) {
      const parsed = parseJson(flags.data);
      if (!parsed.ok) throw new CliError(`--data is not valid JSON: ${parsed.error}`, "usage", EXIT.usage);
      request = parsed.value;
    } else request = await readDocument(flags.file as string);
    const routingHints = hintsFrom(flags);
    const { signal, dispose } = interruptSignal();
    try {
      const answer = await client().gateway.route(capability, request, { signal, ...(routingHints ? { routingHints } : {}), ...(flags.operation ? { operation: flags.operation } : {}) });
      if (out.json) out.document(answer);
      else {
        out.line(JSON.stringify(answer.response, null, 2));
        out.info(describeServed(answer));
      }
    } finally {
      dispose();
    }
  });
}
