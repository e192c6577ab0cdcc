/**
 * @module views/services/form/schema-fields
 * Derives a form's fields from a zod object schema of @kai/protocol (the registration schema): which fields
 * there are, their kind (text, choice, list, number, yes/no, JSON, a group of sub-fields), their choices and
 * defaults, and whether they are required. The form follows the schema by construction: a field added to the
 * protocol appears in the form without a change here. Presentation (labels, hints, order, hidden fields) is
 * the caller's, as overrides by path.
 *
 * Reads zod 4's public `def` of each schema rather than importing zod, so that the app does not carry a second
 * copy of it next to the protocol's.
 */

/** The part of a zod 4 schema this module reads. */
interface SchemaLike {
  def: {
    type: string;
    innerType?: SchemaLike;
    in?: SchemaLike;
    element?: SchemaLike;
    shape?: Record<string, SchemaLike>;
    entries?: Record<string, string>;
    defaultValue?: unknown;
  };
}

export type FieldKind = "text" | "number" | "boolean" | "choice" | "list" | "json" | "group";

export interface FieldSpec {
  /** Dotted path in the input object (`auth.credentialRef`). */
  path: string;
  key: string;
  kind: FieldKind;
  /** False when the schema makes it optional or gives it a default. */
  required: boolean;
  /** Choices of an enum. */
  options?: readonly string[];
  /** The schema's default, shown as the initial value. */
  defaultValue?: unknown;
  /** Sub-fields of a group (a nested object). */
  fields?: FieldSpec[];
  /**
   * Inside a group that is optional and has no default (a health check, a rate limit): the group exists only
   * when something in it is filled in, so its defaults are suggestions (placeholders), not initial values.
   */
  inOptionalGroup: boolean;
}

/** Strips optional/default/nullable wrappers and transforms to the schema that says what the field is. */
function unwrap(schema: SchemaLike): { core: SchemaLike; optional: boolean; defaultValue?: unknown } {
  let current = schema;
  let optional = false;
  let defaultValue: unknown;
  for (;;) {
    const { type } = current.def;
    if ((type === "optional" || type === "nullable" || type === "default" || type === "prefault") && current.def.innerType) {
      if (type !== "nullable") optional = true;
      if (type === "default" && defaultValue === undefined) defaultValue = current.def.defaultValue;
      current = current.def.innerType;
    } else if (type === "pipe" && current.def.in) {
      current = current.def.in;
    } else {
      return { core: current, optional, ...(defaultValue !== undefined ? { defaultValue } : {}) };
    }
  }
}

function kindOf(core: SchemaLike): FieldKind {
  switch (core.def.type) {
    case "string":
      return "text";
    case "number":
    case "int":
      return "number";
    case "boolean":
      return "boolean";
    case "enum":
      return "choice";
    case "object":
      return "group";
    case "array": {
      // A list of plain words (tags, capabilities) is edited as text; a list of objects as JSON.
      const element = core.def.element ? unwrap(core.def.element).core : undefined;
      return element?.def.type === "string" ? "list" : "json";
    }
    default:
      return "json";
  }
}

/** The fields of an object schema, in the schema's order, minus `omit` (dotted paths). */
export function fieldsOf(schema: unknown, omit: ReadonlySet<string> = new Set(), prefix = "", inOptionalGroup = false): FieldSpec[] {
  const { core } = unwrap(schema as SchemaLike);
  const shape = core.def.shape ?? {};
  const fields: FieldSpec[] = [];
  for (const [key, child] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (omit.has(path)) continue;
    const { core: childCore, optional, defaultValue } = unwrap(child);
    const kind = kindOf(childCore);
    const spec: FieldSpec = { path, key, kind, required: !optional, inOptionalGroup };
    if (kind === "choice" && childCore.def.entries) spec.options = Object.values(childCore.def.entries);
    if (defaultValue !== undefined) spec.defaultValue = defaultValue;
    if (kind === "group") spec.fields = fieldsOf(childCore, omit, path, inOptionalGroup || (optional && defaultValue === undefined));
    fields.push(spec);
  }
  return fields;
}

/** `trustLevel` → "Trust level", `rpm` → "Rpm": a readable label when the caller gives none. */
export function labelOf(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
