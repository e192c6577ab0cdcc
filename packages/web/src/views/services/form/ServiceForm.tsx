/**
 * @module views/services/form/ServiceForm
 * Register a service, or edit one, with a form generated from the protocol's ServiceRegistrationSchema: every
 * field of the schema is a labelled control of its kind (schema-fields), the schema's defaults are the initial
 * values, and the same schemas (registration, or the merge patch when editing) validate before anything is
 * sent; the server's own field errors land on the same fields. Editing sends only what changed, guarded by the
 * record's revision, so that a concurrent change is reported instead of overwritten.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { ServicePatchSchema, ServiceRegistrationSchema, fieldErrorsFromZod, type FieldError, type ServiceRecord } from "@kai/protocol";
import { KaiApiError } from "@kai/sdk";
import { useClient } from "../../../app/session";
import { Button } from "../../../components/Button";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { SelectField, TextArea, TextField } from "../../../components/Field";
import { CredentialField } from "./CredentialField";
import { fieldOfError, initialValues, leaves, toInput, toPatch, type FormValues } from "./form-values";
import { fieldsOf, labelOf, type FieldSpec } from "./schema-fields";

/** How fields are presented; everything else about them comes from the schema. */
const LABELS: Record<string, string> = {
  id: "ID",
  url: "URL",
  ttl: "Lease (seconds without a heartbeat)",
  isLocal: "Runs on this machine",
  auth: "Authentication",
  "auth.type": "Authentication type",
  "auth.credentialRef": "Credential",
  "auth.header": "Header carrying the credential",
  healthCheck: "Health check",
  "healthCheck.path": "Health check path",
  "healthCheck.method": "Health check method",
  "healthCheck.interval": "Interval (seconds)",
  "healthCheck.timeout": "Timeout (seconds)",
  "healthCheck.failuresBeforeOffline": "Failures before offline",
  "healthCheck.successesBeforeActive": "Successes before active",
  rateLimit: "Rate limit",
  "rateLimit.rpm": "Requests per minute",
  "rateLimit.tpm": "Tokens per minute",
  "rateLimit.concurrency": "Requests at once",
};

const HINTS: Record<string, string> = {
  id: "Leave empty and the node chooses one.",
  capabilities: "Separated by commas, e.g. llm_chat, embeddings.",
  tags: "Separated by commas.",
  provider: "The connector, e.g. openai or ollama.",
  endpoints: 'JSON list, e.g. [{"path": "/v1/chat/completions", "capability": "llm_chat"}].',
  metadata: 'JSON object, e.g. {"models": ["llama3"]}. Never a credential.',
  healthCheck: "Leave every field empty for no active health check.",
  owner: "Only an administrator may register for another owner.",
  version: "A semantic version such as 1.2.3.",
};

/** `auth.token` takes a raw credential for the vault; this form refers to credentials, it never carries one. */
const ALWAYS_OMITTED = ["auth.token"];

export type ServiceFormMode = { kind: "register" } | { kind: "edit"; record: ServiceRecord };

export interface ServiceFormProps {
  mode: ServiceFormMode;
  onDone(service: ServiceRecord, created: boolean): void;
  onCancel(): void;
}

function mapErrors(details: readonly FieldError[], paths: readonly string[]): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  for (const { path, message } of details) {
    const field = fieldOfError(paths, path);
    if (field === undefined) other.push(`${path}: ${message}`);
    else byField[field] ??= message;
  }
  return { byField, other };
}

export function ServiceForm({ mode, onDone, onCancel }: ServiceFormProps) {
  const client = useClient();
  const editing = mode.kind === "edit" ? mode.record : undefined;
  const fields = useMemo(
    () => fieldsOf(ServiceRegistrationSchema, new Set([...ALWAYS_OMITTED, ...(editing ? ["id"] : [])])),
    [editing],
  );
  const paths = useMemo(() => leaves(fields).map((field) => field.path), [fields]);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields, editing));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problems, setProblems] = useState<string[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const title = editing ? `Edit ${editing.id}` : "Register a service";

  useEffect(() => {
    heading.current?.focus();
  }, []);

  const set = (path: string, value: string | boolean) => setValues((current) => ({ ...current, [path]: value }));

  function showErrors(details: readonly FieldError[], shapeErrors: Record<string, string> = {}) {
    const { byField, other } = mapErrors(details, paths);
    setErrors({ ...byField, ...shapeErrors });
    setProblems(other);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    const converted = editing ? toPatch(fields, values, editing as unknown as Record<string, unknown>) : toInput(fields, values);
    const body = editing ? { ...converted.input, expectedRevision: editing.revision } : converted.input;
    const checked = editing ? ServicePatchSchema.safeParse(body) : ServiceRegistrationSchema.safeParse(body);
    if (editing && Object.keys(converted.input).length === 0 && Object.keys(converted.errors).length === 0) {
      setErrors({});
      setProblems(["Nothing was changed."]);
      return;
    }
    const details = checked.success ? [] : fieldErrorsFromZod(checked.error);
    if (Object.keys(converted.errors).length > 0 || details.length > 0) {
      showErrors(details, converted.errors);
      return;
    }
    showErrors([]);
    setBusy(true);
    try {
      if (editing) onDone(await client.services.update(editing.id, body as Parameters<typeof client.services.update>[1]), false);
      else {
        const { service, created } = await client.services.register(body as Parameters<typeof client.services.register>[0]);
        onDone(service, created);
      }
    } catch (error) {
      if (error instanceof KaiApiError && error.details) showErrors(error.details);
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  const renderField = (field: FieldSpec): ReactNode => {
    const label = LABELS[field.path] ?? labelOf(field.key);
    const hint = HINTS[field.path];
    const error = errors[field.path];
    const value = values[field.path];
    if (field.kind === "group") {
      return (
        <fieldset key={field.path} className="space-y-3 rounded-md border md:col-span-2 border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">{label}</legend>
          {hint && <p className="text-xs text-slate-600 dark:text-slate-400">{hint}</p>}
          <div className="grid items-start gap-3 md:grid-cols-2">{(field.fields ?? []).map(renderField)}</div>
        </fieldset>
      );
    }
    if (field.path === "auth.credentialRef") {
      return <CredentialField key={field.path} label={label} value={String(value ?? "")} error={error} onChange={(next) => set(field.path, next)} />;
    }
    const required = field.required && field.defaultValue === undefined;
    const shownLabel = label;
    const shownHint = required ? [hint, "Required."].filter(Boolean).join(" ") : hint;
    switch (field.kind) {
      case "boolean":
        return (
          <div key={field.path} className="flex items-center gap-2">
            <input id={`svc-${field.path}`} type="checkbox" checked={value === true} onChange={(event) => set(field.path, event.target.checked)} />
            <label htmlFor={`svc-${field.path}`} className="text-sm">
              {label}
            </label>
            {error && (
              <span role="alert" className="text-xs text-red-700 dark:text-red-400">
                {error}
              </span>
            )}
          </div>
        );
      case "choice": {
        const options = field.options ?? [];
        const text = String(value ?? "");
        // A value outside the choices (a record's `offline`, set by the node) stays visible and is kept.
        const extra = text !== "" && !options.includes(text) ? [text] : [];
        return (
          <SelectField key={field.path} label={shownLabel} hint={shownHint} required={required || undefined} error={error} value={text} onChange={(event) => set(field.path, event.target.value)}>
            {(field.defaultValue === undefined || field.inOptionalGroup) && <option value="">Not set</option>}
            {[...extra, ...options].map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </SelectField>
        );
      }
      case "json":
        return <TextArea key={field.path} label={shownLabel} hint={shownHint} required={required || undefined} error={error} rows={3} value={String(value ?? "")} onChange={(event) => set(field.path, event.target.value)} />;
      default:
        return (
          <TextField
            key={field.path}
            label={shownLabel}
            hint={shownHint}
            required={required || undefined}
            error={error}
            inputMode={field.kind === "number" ? "decimal" : undefined}
            placeholder={field.inOptionalGroup && field.defaultValue !== undefined ? `${String(field.defaultValue)} (default)` : undefined}
            value={String(value ?? "")}
            onChange={(event) => set(field.path, event.target.value)}
          />
        );
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-labelledby="service-form-title" className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-700 dark:bg-slate-900">
      <h2 id="service-form-title" ref={heading} tabIndex={-1} className="text-lg font-semibold">
        {title}
      </h2>
      <div className="grid items-start gap-4 md:grid-cols-2">{fields.map(renderField)}</div>
      {problems.length > 0 && (
        <ul role="alert" className="list-disc pl-5 text-sm text-red-700 dark:text-red-400">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
      <ErrorNotice error={failure} title={editing ? "The change was not saved" : "The service was not registered"} />
      <div className="flex gap-2">
        <Button type="submit" look="primary" busy={busy}>
          {editing ? "Save changes" : "Register"}
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
