/**
 * @module views/prompts/PromptForm
 * Saves a prompt: a new one (name, description, tags, visibility, template, variables), or a new version of an
 * existing one, filled with the version shown. A chat template and the variables are edited as JSON; everything is
 * checked with the protocol's own schemas before it is sent, and the server's answer (an undeclared `{{variable}}`,
 * a default of the wrong type) is shown as it comes.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { PromptNameSchema, SavePromptRequestSchema, parseJson, type PromptInfo, type PromptResponse, type PromptVersion, type SavePromptRequestInput } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField, TextArea, TextField } from "../../components/Field";
import { useRefreshPrompts } from "./prompts-queries";

type Problems = Partial<Record<"name" | "template" | "variables" | "tags" | "form", string>>;

const CHAT_EXAMPLE = '[{"role": "system", "content": "You are {{persona}}."}]';
const VARIABLES_EXAMPLE = '[{"name": "persona", "type": "string", "required": false, "default": "helpful"}]';

export interface PromptFormProps {
  /** A new version of this prompt, starting from `version`; absent: a new prompt. */
  existing?: { prompt: PromptInfo; version: PromptVersion };
  onSaved(saved: PromptResponse): void;
  onCancel(): void;
}

export function PromptForm({ existing, onSaved, onCancel }: PromptFormProps) {
  const client = useClient();
  const refresh = useRefreshPrompts();
  const startType = existing?.version.type ?? "text";
  const [name, setName] = useState(existing?.prompt.name ?? "");
  const [description, setDescription] = useState(existing?.prompt.description ?? "");
  const [tags, setTags] = useState(existing?.prompt.tags.join(", ") ?? "");
  const [visibility, setVisibility] = useState(existing?.prompt.visibility ?? "private");
  const [type, setType] = useState<"text" | "chat">(startType);
  const [template, setTemplate] = useState(() => {
    const current = existing?.version.template;
    if (current === undefined) return "";
    return typeof current === "string" ? current : JSON.stringify(current, null, 2);
  });
  const [variables, setVariables] = useState(existing && existing.version.variables.length > 0 ? JSON.stringify(existing.version.variables, null, 2) : "[]");
  const [message, setMessage] = useState("");
  const [problems, setProblems] = useState<Problems>({});
  const save = useMutation({
    mutationFn: (input: { name: string; request: SavePromptRequestInput }) => client.prompts.save(input.name, input.request),
    onSuccess: async (saved) => {
      await refresh();
      onSaved(saved);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Problems = {};
    const checkedName = PromptNameSchema.safeParse(name.trim());
    if (!checkedName.success) found.name = "a name is letters, digits and _ . - (e.g. support-reply)";
    let templateValue: unknown = template;
    if (type === "chat") {
      const parsed = parseJson(template);
      if (parsed.ok) templateValue = parsed.value;
      else found.template = `enter the messages as JSON, e.g. ${CHAT_EXAMPLE}`;
    }
    const parsedVariables = parseJson(variables.trim() === "" ? "[]" : variables);
    if (!parsedVariables.ok) found.variables = `enter the variables as a JSON list, e.g. ${VARIABLES_EXAMPLE}`;
    const request = {
      template: templateValue,
      variables: parsedVariables.ok ? parsedVariables.value : [],
      tags: tags.split(",").map((tag) => tag.trim()).filter(Boolean),
      description: description.trim(),
      visibility,
      ...(message.trim() ? { message: message.trim() } : {}),
    };
    const checked = SavePromptRequestSchema.safeParse(request);
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const field = issue.path[0];
        const key: keyof Problems = field === "template" || field === "variables" || field === "tags" ? field : "form";
        found[key] ??= `${issue.path.join(".") || "prompt"}: ${issue.message}`;
      }
    }
    setProblems(found);
    if (Object.keys(found).length === 0 && checked.success && checkedName.success) save.mutate({ name: checkedName.data, request: checked.data });
  };

  return (
    <form onSubmit={submit} noValidate aria-label={existing ? "New version" : "New prompt"} className="max-w-2xl space-y-3">
      {!existing && <TextField label="Name" value={name} onChange={(event) => setName(event.target.value)} error={problems.name} autoComplete="off" />}
      <TextField label="Description" value={description} onChange={(event) => setDescription(event.target.value)} autoComplete="off" />
      <TextField label="Tags" hint="a comma list" value={tags} onChange={(event) => setTags(event.target.value)} error={problems.tags} autoComplete="off" />
      <SelectField label="Visibility" value={visibility} onChange={(event) => setVisibility(event.target.value as typeof visibility)}>
        <option value="private">private (you and admins)</option>
        <option value="shared">shared (everyone who may read prompts)</option>
      </SelectField>
      <SelectField label="Template type" value={type} onChange={(event) => setType(event.target.value as "text" | "chat")}>
        <option value="text">text</option>
        <option value="chat">chat (messages as JSON)</option>
      </SelectField>
      <TextArea
        label="Template"
        rows={8}
        className="font-mono"
        hint={type === "chat" ? `e.g. ${CHAT_EXAMPLE}` : "{{name}} for a declared variable, {{vault:secret/name}} for a vault secret"}
        value={template}
        onChange={(event) => setTemplate(event.target.value)}
        error={problems.template}
      />
      <TextArea label="Variables (JSON)" rows={4} className="font-mono" hint={`e.g. ${VARIABLES_EXAMPLE}`} value={variables} onChange={(event) => setVariables(event.target.value)} error={problems.variables} />
      <TextField label="What changed" hint="kept with the version" value={message} onChange={(event) => setMessage(event.target.value)} autoComplete="off" />
      {problems.form && <p className="text-sm text-red-800 dark:text-red-300">{problems.form}</p>}
      <ErrorNotice error={save.error} title="The prompt was not saved" />
      <div className="flex gap-2">
        <Button type="submit" look="primary" busy={save.isPending}>
          {existing ? "Save version" : "Save prompt"}
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
