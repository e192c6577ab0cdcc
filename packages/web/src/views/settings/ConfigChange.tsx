/**
 * @module views/settings/ConfigChange
 * A node-wide change of one setting (`PATCH /api/config`: the runtime layer, above the files, applied to the node and
 * to every agent's view). The value is YAML, like the configuration file (`debug`, `5`, `[a, b]`; `null` removes the
 * runtime value). The node refuses a locked key or one that needs a restart, with its reason. There is deliberately no
 * per-agent change: the API has none (an agent's overrides are the operator's file), and the form says so.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { parse, YAMLParseError } from "yaml";
import { ConfigPatchRequestSchema, type ConfigPatchResponse } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { agentFileName, configKeys, shownValue } from "./config-words";

type Problems = Partial<Record<"key" | "value", string>>;

/** The YAML text as a value, or the parser's complaint. */
function yamlValue(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: error instanceof YAMLParseError ? `not YAML: ${error.message.split("\n")[0] ?? ""}` : "not YAML" };
  }
}

export function ConfigChange({ agent }: { agent: string }) {
  const client = useClient();
  const queries = useQueryClient();
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [problems, setProblems] = useState<Problems>({});
  const change = useMutation({
    mutationFn: (settings: Record<string, unknown>) => client.config.set(settings),
    onSettled: () => queries.invalidateQueries({ queryKey: configKeys.all }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Problems = {};
    const parsed = yamlValue(value);
    if (!parsed.ok) found.value = parsed.message;
    if (value.trim() === "") found.value = "a value in YAML (null removes the runtime value)";
    const checked = ConfigPatchRequestSchema.safeParse({ settings: { [key.trim()]: parsed.ok ? parsed.value : null } });
    if (!checked.success) found.key = "a dotted setting name such as logging.level";
    setProblems(found);
    if (Object.keys(found).length === 0 && checked.success) change.mutate(checked.data.settings);
  };
  return (
    <section aria-label="Change a setting" className="space-y-2 border-t border-slate-300 pt-3 dark:border-slate-600">
      <h3 className="text-sm font-semibold">Change a setting (node-wide)</h3>
      <p className="text-sm text-slate-700 dark:text-slate-300">
        Changes go to the node&apos;s runtime layer and apply to the node and every agent.{" "}
        {agent !== "" ? (
          <>
            There is no per-agent change here: <span className="font-mono">{agent}</span>&apos;s own settings are changed in its overrides file (
            <span className="font-mono">{agentFileName(agent)}</span> in the node&apos;s agents folder).
          </>
        ) : (
          "Per-agent settings are changed in the agent's overrides file, not here."
        )}
      </p>
      <form onSubmit={submit} noValidate aria-label="Change a setting node-wide" className="grid gap-2 sm:grid-cols-[1fr_1fr_auto] sm:items-end">
        <TextField label="Setting to change" value={key} onChange={(event) => setKey(event.target.value)} error={problems.key} autoComplete="off" spellCheck={false} />
        <TextField label="New value (YAML)" hint="null removes the runtime value" value={value} onChange={(event) => setValue(event.target.value)} error={problems.value} autoComplete="off" spellCheck={false} className="font-mono" />
        <Button type="submit" look="primary" busy={change.isPending}>
          Apply node-wide
        </Button>
      </form>
      <ErrorNotice error={change.error} title="The node refused the change" />
      {change.data && <ChangeResult result={change.data} />}
    </section>
  );
}

function ChangeResult({ result }: { result: ConfigPatchResponse }) {
  if (result.changed.length === 0) return <p role="status" className="text-sm">Applied: nothing changed.</p>;
  return (
    <div role="status" className="text-sm">
      <p>Applied:</p>
      <ul className="list-disc pl-5">
        {result.changed.map((entry) => (
          <li key={`${entry.key}:${entry.agent ?? ""}`}>
            <span className="font-mono">{entry.key}</span>
            {entry.agent && ` (in ${entry.agent}'s view)`}: {shownValue(entry.old)} → {shownValue(entry.new)}
          </li>
        ))}
      </ul>
    </div>
  );
}
