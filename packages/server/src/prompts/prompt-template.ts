/**
 * @module prompts/prompt-template
 * The prompt store's template language: `{{name}}` is a declared variable, `{{vault:secret/name}}` a vault secret;
 * any other text (single braces, `{{ not an identifier }}`, JSON examples) stays as written. Hand-written rather than
 * Mustache or Handlebars on purpose: those have sections, partials, HTML escaping and lookups of undeclared names,
 * while a prompt needs exactly one thing (typed, declared substitution, checked at save) and nothing that could
 * evaluate what a caller sends. Rendering is one left-to-right pass over the template only, so a variable's value
 * that itself looks like `{{vault:…}}` is inserted as text, never expanded: a caller cannot reach a secret through
 * a variable.
 */
import { PromptSecretNameSchema, type FieldError, type PromptTemplate, type PromptVariable, type PromptVariableType } from "@kai/protocol";
import { ApiError } from "../errors.js";

const PLACEHOLDER = /\{\{\s*(?:vault:([^\s{}]+)|([A-Za-z_][A-Za-z0-9_]*))\s*\}\}/g;

/** What a template refers to: variable names and vault secret names, each once, in order of first use. */
export interface TemplateReferences {
  variables: string[];
  secrets: string[];
}

const textsOf = (template: PromptTemplate): string[] => (typeof template === "string" ? [template] : template.map((message) => message.content));

export function referencesOf(template: PromptTemplate): TemplateReferences {
  const variables = new Set<string>();
  const secrets = new Set<string>();
  for (const text of textsOf(template)) {
    for (const match of text.matchAll(PLACEHOLDER)) {
      if (match[1] !== undefined) secrets.add(match[1]);
      else variables.add(match[2]!);
    }
  }
  return { variables: [...variables], secrets: [...secrets] };
}

/** Why `value` does not fit `type`, or null when it does. */
function typeProblem(type: PromptVariableType, value: unknown): string | null {
  switch (type) {
    case "string":
      return typeof value === "string" ? null : "must be a string";
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? null : "must be a finite number";
    case "boolean":
      return typeof value === "boolean" ? null : "must be true or false";
    case "json":
      // Whatever arrived as JSON is JSON; `undefined` never does.
      return value === undefined ? "must be a JSON value" : null;
  }
}

/**
 * Checks a template against its declared variables at save: names unique, defaults of the declared type, every
 * `{{name}}` declared, every `{{vault:…}}` a valid secret name. Throws `prompt_template_invalid` (422) listing all
 * problems.
 */
export function checkTemplate(template: PromptTemplate, variables: readonly PromptVariable[]): void {
  const problems: FieldError[] = [];
  const declared = new Set<string>();
  variables.forEach((variable, index) => {
    if (declared.has(variable.name)) problems.push({ path: `variables.${index}.name`, message: `variable ${variable.name} is declared twice` });
    declared.add(variable.name);
    if (variable.default !== undefined) {
      const problem = typeProblem(variable.type, variable.default);
      if (problem) problems.push({ path: `variables.${index}.default`, message: `the default of ${variable.name} ${problem}` });
    }
  });
  const references = referencesOf(template);
  for (const name of references.variables) {
    if (!declared.has(name)) problems.push({ path: "template", message: `{{${name}}} is not a declared variable (declare it in variables)` });
  }
  for (const name of references.secrets) {
    const parsed = PromptSecretNameSchema.safeParse(name);
    if (!parsed.success) problems.push({ path: "template", message: `{{vault:${name.slice(0, 200)}}} is not a valid secret name` });
  }
  if (problems.length > 0) throw new ApiError("prompt_template_invalid", "the template does not match its declared variables", problems);
}

/**
 * The text of every variable for a render: given values checked against the declarations (unknown names, missing
 * required ones, wrong types), defaults filled in, an optional variable without value or default as "". Throws
 * `prompt_variables_invalid` (422) listing every problem.
 */
export function variableTexts(variables: readonly PromptVariable[], values: Readonly<Record<string, unknown>>): Map<string, string> {
  const problems: FieldError[] = [];
  const byName = new Map(variables.map((variable) => [variable.name, variable]));
  for (const name of Object.keys(values)) {
    if (!byName.has(name)) problems.push({ path: `variables.${name.slice(0, 64)}`, message: "is not a declared variable of this prompt" });
  }
  const texts = new Map<string, string>();
  for (const variable of variables) {
    const given = Object.hasOwn(values, variable.name) ? values[variable.name] : undefined;
    const value = given !== undefined ? given : variable.default;
    if (value === undefined) {
      if (variable.required) problems.push({ path: `variables.${variable.name}`, message: `is required (${variable.type})` });
      else texts.set(variable.name, "");
      continue;
    }
    const problem = typeProblem(variable.type, value);
    if (problem) {
      problems.push({ path: `variables.${variable.name}`, message: problem });
      continue;
    }
    texts.set(variable.name, typeof value === "string" ? value : variable.type === "json" ? JSON.stringify(value) : String(value));
  }
  if (problems.length > 0) throw new ApiError("prompt_variables_invalid", "the variables do not match the prompt's declarations", problems);
  return texts;
}

/** One text with its placeholders replaced (one pass: inserted values are never read as placeholders). */
function fill(text: string, variables: ReadonlyMap<string, string>, secrets: ReadonlyMap<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, secret: string | undefined, variable: string | undefined) => {
    if (secret !== undefined) return secrets.get(secret) ?? whole;
    return variables.get(variable!) ?? whole;
  });
}

/** The template with variables and secrets in place: a text, or the chat's messages. */
export function fillTemplate<T extends PromptTemplate>(template: T, variables: ReadonlyMap<string, string>, secrets: ReadonlyMap<string, string>): T {
  if (typeof template === "string") return fill(template, variables, secrets) as T;
  return template.map((message) => ({ ...message, content: fill(message.content, variables, secrets) })) as T;
}
