/**
 * @module config/layers/known-keys
 * "Did you mean": for a setting the schema does not know (`tracing.otlp`), the known key beside it that was most
 * likely meant (`tracing.otlpEndpoint`). Configuration files are typed by hand from docs and memory, and a misspelt key
 * is refused with "unknown setting" alone; naming the likely key saves a trip to docs/configuration.md.
 *
 * The known keys come from the config schema itself (zod's definitions, walked through the wrappers `default`,
 * `prefault`, `optional` and the like), so they cannot drift from what the schema accepts.
 */
import type { z } from "zod";
import { distance } from "fastest-levenshtein";

/** Wrappers whose inner schema holds the object (zod 4's definition types). */
const WRAPPERS = new Set(["default", "prefault", "optional", "nullable", "readonly", "catch", "nonoptional"]);

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The keys of the object schema at `path` below `schema`, or `undefined` when there is no object there. */
export function knownKeysAt(schema: z.ZodType, path: readonly string[]): string[] | undefined {
  let current: z.ZodType | undefined = schema;
  for (let depth = 0; current !== undefined; ) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type)) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else if (def.type === "object" && def.shape !== undefined) {
      if (depth === path.length) return Object.keys(def.shape);
      current = def.shape[path[depth++]!];
    } else return undefined;
  }
  return undefined;
}

/**
 * The known key `unknown` most likely stands for: the same key in another case, one that starts with it or that it
 * starts with (`otlp` → `otlpEndpoint`), else the nearest by edit distance within two edits or a third of its length
 * (`retentionDay` → `retentionDays`, `prot` → `port`). `undefined` when nothing is close.
 */
export function likelyKey(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  const sameCase = known.find((key) => key.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  if (lower.length >= 3) {
    const prefixed = known.filter((key) => key.toLowerCase().startsWith(lower) || lower.startsWith(key.toLowerCase()));
    if (prefixed.length === 1) return prefixed[0];
  }
  let best: string | undefined;
  // Two edits at least: a swapped pair of letters (`prot`) is two for Levenshtein's distance.
  let bestDistance = Math.max(2, Math.floor(unknown.length / 3)) + 1;
  for (const key of known) {
    const d = distance(lower, key.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [key, d];
  }
  return best;
}
