/**
 * @module filter-options
 * The discovery filter flags shared by `kai services list` and `kai watch`, checked against the same
 * `ServiceFilterSchema` the server uses, so a bad value is a usage error before any request is made.
 */
import type { Command } from "commander";
import {
  CAPABILITY_ALIASES,
  fieldErrorsFromZod,
  SERVICE_STATUSES,
  SERVICE_TYPES,
  ServiceFilterSchema,
  VISIBILITIES,
  type FieldError,
  type ServiceFilterInput,
} from "@kai/protocol";
import { usageError } from "./cli-error.js";
import { collectList } from "./command-options.js";

export interface FilterFlags {
  type?: string[];
  tag?: string[];
  capability?: string[];
  provider?: string;
  owner?: string;
  status?: string[];
  visibility?: string;
  query?: string;
  location?: string;
  origin?: string;
}

export function addFilterOptions(command: Command): Command {
  return command
    .option("--type <type>", `service type (${SERVICE_TYPES.join("|")}); repeatable, any matches`, collectList)
    .option("--tag <tag>", "tag; repeatable, all must match", collectList)
    .option("--capability <capability>", "capability such as llm_chat (a manifest's shorthand such as chat means the same); repeatable, all must match", collectList)
    .option("--provider <provider>", "provider / connector id, e.g. openai")
    .option("--owner <owner>", "owner")
    .option("--status <status>", `${SERVICE_STATUSES.join("|")}; repeatable, any matches`, collectList)
    .option("--visibility <visibility>", "public|internal|private")
    .option("-q, --query <text>", "free text over id, name, description, provider, tags, capabilities")
    .option("--location <where>", "local (this node's own, the default) | remote (imported from federation peers) | all")
    .option("--origin <did>", "only records imported from this peer node");
}

/** The filter the flags describe, validated; flags that were not given are left out. */
export function filterFromFlags(flags: FilterFlags): ServiceFilterInput {
  const candidate: Record<string, unknown> = {
    type: flags.type,
    tag: flags.tag,
    // A manifest's shorthands (`chat`) are stored as what they mean (`llm_chat`): a filter by the shorthand found nothing.
    capability: flags.capability?.map((capability) => CAPABILITY_ALIASES[capability] ?? capability),
    provider: flags.provider,
    owner: flags.owner,
    status: flags.status,
    visibility: flags.visibility,
    q: flags.query,
    location: flags.location,
    origin: flags.origin,
  };
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  // The repeatable enums first: the schema's verdict on a list of values is only "Invalid input".
  // The single enums too, so that every choice flag's error reads alike (the schema's words are the library's).
  const unknown = [
    ...badChoices("type", flags.type, SERVICE_TYPES),
    ...badChoices("status", flags.status, SERVICE_STATUSES),
    ...badChoices("visibility", flags.visibility === undefined ? undefined : [flags.visibility], VISIBILITIES),
    ...badChoices("location", flags.location === undefined ? undefined : [flags.location], LOCATIONS),
  ];
  if (unknown.length > 0) throw usageError("invalid filter", unknown);
  const parsed = ServiceFilterSchema.safeParse(candidate);
  if (!parsed.success) {
    const details = fieldErrorsFromZod(parsed.error).map((detail) => ({ ...detail, path: `--${flagName(detail.path)}` }));
    throw usageError("invalid filter", details);
  }
  return candidate as ServiceFilterInput;
}

const LOCATIONS = ["local", "remote", "all"] as const;

/** One error per value of a repeatable flag that is not among `allowed`, naming the allowed ones. */
function badChoices(flag: string, values: string[] | undefined, allowed: readonly string[]): FieldError[] {
  return (values ?? [])
    .filter((value) => !allowed.includes(value))
    .map((value) => ({ path: `--${flag}`, message: `"${value}" is not one of ${allowed.join(", ")}` }));
}

function flagName(path: string): string {
  const key = path.split(".")[0] ?? path;
  return key === "q" ? "query" : key;
}
