/**
 * @module views/prompts/DiffPanel
 * Compares two versions of a prompt: the templates line by line (kept, removed, added: said in words as well as
 * colours) and the variables added, removed and changed. Starts at the version before the shown one against it.
 */
import { useState } from "react";
import type { PromptDiffLine } from "@kai/protocol";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { usePromptDiff } from "./prompts-queries";

const LINE_LOOK: Record<PromptDiffLine["op"], { word: string; className: string }> = {
  " ": { word: "kept", className: "" },
  "-": { word: "removed", className: "bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-200" },
  "+": { word: "added", className: "bg-green-50 text-green-900 dark:bg-green-950 dark:text-green-200" },
};

export function DiffPanel({ name, latest, shown }: { name: string; latest: number; shown: number }) {
  const [from, setFrom] = useState(Math.max(1, shown - 1));
  const [to, setTo] = useState(shown);
  const diff = usePromptDiff(name, from, to, latest > 1);
  if (latest < 2) return null;
  const numbers = Array.from({ length: latest }, (_, index) => index + 1);
  const choose = (label: string, value: number, set: (next: number) => void) => (
    <div className="w-32">
      <SelectField label={label} value={value} onChange={(event) => set(Number(event.target.value))}>
        {numbers.map((number) => (
          <option key={number} value={number}>
            v{number}
          </option>
        ))}
      </SelectField>
    </div>
  );
  const variables = diff.data?.variables;
  return (
    <Panel title="Compare versions">
      <div className="mb-3 flex gap-3">
        {choose("From", from, setFrom)}
        {choose("To", to, setTo)}
      </div>
      <ErrorNotice error={diff.error} title="The versions could not be compared" />
      {diff.data && (
        <>
          <ol aria-label={`Template from v${from} to v${to}`} className="overflow-x-auto rounded border border-slate-200 font-mono text-xs dark:border-slate-700">
            {diff.data.template.map((line, index) => (
              <li key={index} className={`whitespace-pre-wrap px-2 ${LINE_LOOK[line.op].className}`}>
                <span className="sr-only">{LINE_LOOK[line.op].word}: </span>
                <span aria-hidden="true">{line.op} </span>
                {line.text}
              </li>
            ))}
          </ol>
          {variables && (
            <p className="mt-2 text-sm">
              Variables: {variables.added.length ? `added ${variables.added.join(", ")}` : "none added"}; {variables.removed.length ? `removed ${variables.removed.join(", ")}` : "none removed"};{" "}
              {variables.changed.length ? `changed ${variables.changed.join(", ")}` : "none changed"}.
            </p>
          )}
        </>
      )}
    </Panel>
  );
}
