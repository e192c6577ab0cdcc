/**
 * @module views/playground/params
 * The parameter fields of a gateway request, generated from JSON Schema: what the chosen service's connector declares
 * it honours (`GET /api/connectors`, see connector-params.ts), or the request schema the gateway accepts
 * (`ChatCompletionRequestSchema`, …, from @kai/protocol) when no connector is known. Either way a field that appears
 * there shows up here without a change to the app. Only plain kinds matter: number, integer, boolean, text, a choice,
 * or a list of texts.
 */

export type ParamKind = "number" | "integer" | "boolean" | "text" | "choice" | "texts";

export interface ParamField {
  name: string;
  kind: ParamKind;
  /** For `choice`. */
  options?: string[];
  /** Bounds the schema states (the converter's "any safe integer" bounds left out). */
  min?: number;
  max?: number;
}

/** What the page needs of a protocol schema. */
export interface RequestSchema {
  toJSONSchema(params?: { io?: "input" | "output"; unrepresentable?: "any" | "throw" }): unknown;
  safeParse(input: unknown): { success: true; data: unknown } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
}

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, JsonSchema>;
}

const SAFE = 9007199254740991;

/** The kinds a property may take, with nulls dropped and nested unions flattened. */
function variants(schema: JsonSchema): JsonSchema[] {
  if (schema.anyOf) return schema.anyOf.flatMap(variants).filter((variant) => variant.type !== "null");
  return [schema];
}

function fieldOf(name: string, schema: JsonSchema): ParamField | undefined {
  const options = variants(schema);
  const only = options.length === 1 ? options[0] : undefined;
  const bounds = (variant: JsonSchema) => ({
    ...(variant.minimum !== undefined && variant.minimum > -SAFE ? { min: variant.minimum } : {}),
    ...(variant.exclusiveMinimum !== undefined ? { min: variant.exclusiveMinimum + (variant.type === "integer" ? 1 : 0) } : {}),
    ...(variant.maximum !== undefined && variant.maximum < SAFE ? { max: variant.maximum } : {}),
  });
  if (only?.enum && only.enum.every((value) => typeof value === "string")) return { name, kind: "choice", options: only.enum as string[] };
  if (only?.type === "number") return { name, kind: "number", ...bounds(only) };
  if (only?.type === "integer") return { name, kind: "integer", ...bounds(only) };
  if (only?.type === "boolean") return { name, kind: "boolean" };
  if (only?.type === "string") return { name, kind: "text" };
  // A text or a list of texts (`stop`): one per line.
  if (options.some((variant) => variant.type === "string") && options.every((variant) => variant.type === "string" || (variant.type === "array" && variant.items?.type === "string"))) return { name, kind: "texts" };
  return undefined; // objects, arrays of numbers…: not a form field
}

/** The schema's parameter fields, in its order, except those the page asks for itself (`skip`). */
export function paramFields(schema: RequestSchema, skip: readonly string[]): ParamField[] {
  return fieldsOf(schema.toJSONSchema({ io: "input", unrepresentable: "any" }) as JsonSchema, skip);
}

/**
 * The fields of a JSON Schema object's `properties`, in their order, except `skip`: the same reading for the shared
 * schema and for what a connector declares it honours (`GET /api/connectors` answers JSON Schema made by the same
 * converter).
 */
export function fieldsOf(json: { properties?: Record<string, unknown> }, skip: readonly string[] = []): ParamField[] {
  const fields: ParamField[] = [];
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    if (skip.includes(name)) continue;
    const field = fieldOf(name, property as JsonSchema);
    if (field) fields.push(field);
  }
  return fields;
}

/** The form's raw values: text for every field, "on"/"" for booleans. */
export type ParamValues = Record<string, string>;

/** The values as request fields: empty ones left out (the service's defaults apply), numbers as numbers. */
export function paramsFrom(fields: readonly ParamField[], values: ParamValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = (values[field.name] ?? "").trim();
    if (raw === "") continue;
    switch (field.kind) {
      case "number":
      case "integer":
        // Not a number: passed as text, so the schema names the field in its error.
        out[field.name] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
        break;
      case "boolean":
        out[field.name] = raw === "on";
        break;
      case "texts": {
        const lines = raw.split("\n").map((line) => line.trim()).filter(Boolean);
        out[field.name] = lines.length === 1 ? lines[0] : lines;
        break;
      }
      default:
        out[field.name] = raw;
    }
  }
  return out;
}

/** Validates a request with its protocol schema; the errors by top-level field name. */
export function validate<T>(schema: RequestSchema, request: T): { ok: true; request: T } | { ok: false; errors: Record<string, string> } {
  const result = schema.safeParse(request);
  if (result.success) return { ok: true, request: result.data as T };
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? "request");
    errors[key] ??= issue.message;
  }
  return { ok: false, errors };
}
