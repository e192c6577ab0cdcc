/**
 * @module views/prompts/RenderPanel
 * Tries a version of a prompt: a field per declared variable (its type and default shown), rendered by the node as
 * the session (a `{{vault:…}}` reference renders only for a session that may read that secret) and shown as text or
 * as chat messages. A missing or ill-typed variable is the server's `prompt_variables_invalid`, shown as it comes.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { parseJson, type PromptVersion, type PromptVariable } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { Panel } from "../../components/Page";

/** A field's text as the variable's type; text a number or boolean field cannot be is sent as is (the server says why). */
function typedValue(variable: PromptVariable, text: string): unknown {
  if (variable.type === "string") return text;
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : text;
}

function hintFor(variable: PromptVariable): string {
  const parts = [variable.type, variable.required && variable.default === undefined ? "required" : "optional"];
  if (variable.default !== undefined) parts.push(`default ${JSON.stringify(variable.default)}`);
  return [parts.join(", "), variable.description].filter(Boolean).join(": ");
}

export function RenderPanel({ version }: { version: PromptVersion }) {
  const client = useClient();
  const [values, setValues] = useState<Record<string, string>>({});
  const render = useMutation({
    mutationFn: (variables: Record<string, unknown>) => client.prompts.render(version.name, { version: version.version, variables }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const variables: Record<string, unknown> = {};
    for (const variable of version.variables) {
      const text = values[variable.name];
      if (text !== undefined && text !== "") variables[variable.name] = typedValue(variable, text);
    }
    render.mutate(variables);
  };
  return (
    <Panel title="Try it">
      <form onSubmit={submit} aria-label="Render the prompt" className="max-w-xl space-y-3">
        {version.variables.length === 0 && <p className="text-sm">This version declares no variables.</p>}
        {version.variables.map((variable) => (
          <TextField
            key={variable.name}
            label={variable.name}
            hint={hintFor(variable)}
            value={values[variable.name] ?? ""}
            onChange={(event) => setValues({ ...values, [variable.name]: event.target.value })}
            autoComplete="off"
          />
        ))}
        <Button type="submit" look="primary" busy={render.isPending}>
          Render
        </Button>
      </form>
      <ErrorNotice error={render.error} title="The prompt was not rendered" />
      {render.data && (
        <div className="mt-3" aria-label="Rendered prompt" role="region">
          {render.data.text !== undefined && <pre className="whitespace-pre-wrap rounded bg-slate-50 p-2 text-sm dark:bg-slate-800">{render.data.text}</pre>}
          {render.data.messages?.map((message, index) => (
            <div key={index} className="mb-2">
              <span className="text-xs font-semibold uppercase text-slate-600 dark:text-slate-400">{message.role}</span>
              <pre className="whitespace-pre-wrap rounded bg-slate-50 p-2 text-sm dark:bg-slate-800">{message.content}</pre>
            </div>
          ))}
        </div>
      )}
    </Panel>
  );
}
