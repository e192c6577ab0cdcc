/**
 * @module views/services/form/form-values
 * The generated form's values and what they mean to the API. A form holds text (and yes/no) per field path;
 * these functions turn a record into such values, values into a registration input, and values into the merge
 * patch that changes only what was edited (an emptied optional field becomes `null`, which removes it). The
 * protocol's schemas then validate the result: this module converts, it does not judge.
 */
import { parseJson } from "@kai/protocol";
import type { FieldSpec } from "./schema-fields";

export type FormValue = string | boolean;
export type FormValues = Record<string, FormValue>;

/** Fields whose emptied value is sent as this rather than `null` (the schema gives them a default, not optionality). */
const EMPTY_OF_DEFAULTED: Record<string, unknown> = { description: "", capabilities: [], tags: [], endpoints: [], metadata: {} };

function valueAt(source: unknown, path: string): unknown {
  let current = source;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function isEmptyJson(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === "object" && Object.keys(value).length === 0;
}

function format(field: FieldSpec, value: unknown): FormValue {
  if (field.kind === "boolean") return value === true;
  if (value === undefined || value === null) return "";
  if (field.kind === "list") return Array.isArray(value) ? value.join(", ") : String(value);
  if (field.kind === "json") return isEmptyJson(value) ? "" : JSON.stringify(value, null, 2);
  return String(value);
}

function leaves(fields: readonly FieldSpec[]): FieldSpec[] {
  return fields.flatMap((field) => (field.kind === "group" ? leaves(field.fields ?? []) : [field]));
}

/** Initial values: the record's (editing), or the schema's defaults (registering). */
export function initialValues(fields: readonly FieldSpec[], record?: unknown): FormValues {
  const values: FormValues = {};
  for (const field of leaves(fields)) {
    const initial = record !== undefined ? valueAt(record, field.path) : field.inOptionalGroup ? undefined : field.defaultValue;
    values[field.path] = format(field, initial);
  }
  return values;
}

export interface Converted {
  input: Record<string, unknown>;
  /** Values that are not even the right shape (JSON that does not parse), by path. */
  errors: Record<string, string>;
}

function convertLeaf(field: FieldSpec, raw: FormValue | undefined, errors: Record<string, string>): unknown {
  if (field.kind === "boolean") return raw === true ? true : undefined;
  const text = typeof raw === "string" ? raw.trim() : "";
  if (text === "") return undefined;
  switch (field.kind) {
    case "number": {
      const number = Number(text);
      // Not a number: pass the text on, so the schema reports it against this field in its own words.
      return Number.isFinite(number) ? number : text;
    }
    case "list":
      return text.split(/[\s,]+/).filter((item) => item !== "");
    case "json":
      {
        const parsed = parseJson(text);
        if (parsed.ok) return parsed.value;
        errors[field.path] = `must be valid JSON (${parsed.error})`;
        return undefined;
      }
    default:
      return text;
  }
}

function convertGroup(fields: readonly FieldSpec[], values: FormValues, errors: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = field.kind === "group" ? convertGroup(field.fields ?? [], values, errors) : convertLeaf(field, values[field.path], errors);
    // A group counts only when one of its fields was filled in (an untouched optional section stays absent).
    if (value !== undefined && !(field.kind === "group" && Object.keys(value as object).length === 0)) out[field.key] = value;
  }
  return out;
}

/** The input object the values describe (empty fields left out, so the schema's defaults apply). */
export function toInput(fields: readonly FieldSpec[], values: FormValues): Converted {
  const errors: Record<string, string> = {};
  return { input: convertGroup(fields, values, errors), errors };
}

/** Equality of JSON values regardless of key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const left = Object.entries(a as Record<string, unknown>).filter(([, value]) => value !== undefined);
    const right = Object.entries(b as Record<string, unknown>).filter(([, value]) => value !== undefined);
    return left.length === right.length && left.every(([key, value]) => sameJson(value, (b as Record<string, unknown>)[key]));
  }
  return false;
}

/** The merge patch from `record` to the values: only changed top-level fields; emptied ones removed. */
export function toPatch(fields: readonly FieldSpec[], values: FormValues, record: Record<string, unknown>): Converted {
  const { input, errors } = toInput(fields, values);
  const patch: Record<string, unknown> = {};
  for (const field of fields) {
    const next = input[field.key];
    const before = record[field.key];
    if (next === undefined) {
      if (before === undefined || isEmptyJson(before) || before === "" || (field.kind === "boolean" && before === false)) continue;
      patch[field.key] = field.key in EMPTY_OF_DEFAULTED ? EMPTY_OF_DEFAULTED[field.key] : null;
    } else if (!sameJson(next, before)) {
      patch[field.key] = next;
    }
  }
  return { input: patch, errors };
}

/** The field a server or schema error path belongs to: the longest field path that starts it. */
export function fieldOfError(paths: readonly string[], errorPath: string): string | undefined {
  let best: string | undefined;
  for (const path of paths) {
    if ((errorPath === path || errorPath.startsWith(`${path}.`)) && (best === undefined || path.length > best.length)) best = path;
  }
  return best;
}

export { leaves };
