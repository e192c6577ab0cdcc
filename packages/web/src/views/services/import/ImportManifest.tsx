/**
 * @module views/services/import/ImportManifest
 * Import a YAML manifest: choose a file (or paste one), see every service it would register, or every problem
 * in it by entry and field, then register them one by one with each result listed (created, updated, or the
 * node's error). Nothing is sent until the whole file is valid and the person confirms.
 */
import { useEffect, useRef, useState } from "react";
import { useClient } from "../../../app/session";
import { Button } from "../../../components/Button";
import { describeError } from "../../../components/ErrorNotice";
import { TextArea, TextField } from "../../../components/Field";
import { planManifest, type ManifestPlan } from "./manifest";

type Outcome = { id: string; result: "created" | "updated" } | { id: string; result: "failed"; message: string };

export function ImportManifest({ onClose }: { onClose(): void }) {
  const client = useClient();
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState("manifest.yaml");
  const [plan, setPlan] = useState<ManifestPlan | undefined>(undefined);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  const check = (source: string, name: string) => {
    setOutcomes([]);
    setPlan(source.trim() === "" ? undefined : planManifest(source, name));
  };

  async function registerAll() {
    if (!plan?.ok) return;
    setBusy(true);
    const done: Outcome[] = [];
    for (const service of plan.services) {
      try {
        const { created } = await client.services.register(service.input);
        done.push({ id: service.id, result: created ? "created" : "updated" });
      } catch (error) {
        const { message, code } = describeError(error);
        done.push({ id: service.id, result: "failed", message: code ? `${message} (${code})` : message });
      }
      setOutcomes([...done]);
    }
    setBusy(false);
  }

  const failed = outcomes.filter((outcome) => outcome.result === "failed").length;
  const finished = plan?.ok === true && outcomes.length === plan.services.length;

  return (
    <section aria-labelledby="import-title" className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-700 dark:bg-slate-900">
      <h2 id="import-title" ref={heading} tabIndex={-1} className="text-lg font-semibold">
        Import a manifest
      </h2>
      <p className="text-sm text-slate-700 dark:text-slate-300">
        The same YAML <code>services:</code> list that <code>kai services apply</code> takes. Credentials stay references (<code>token_env</code> becomes <code>env:NAME</code>).
      </p>
      <TextField
        label="Manifest file"
        type="file"
        accept=".yaml,.yml,application/yaml,text/yaml"
        onChange={async (event) => {
          const file = event.target.files?.[0];
          if (!file) return;
          const content = await file.text();
          setFileName(file.name);
          setText(content);
          check(content, file.name);
        }}
      />
      <TextArea
        label="Manifest (YAML)"
        rows={8}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          check(event.target.value, fileName);
        }}
      />
      {plan && !plan.ok && (
        <div role="alert" className="text-sm text-red-800 dark:text-red-300">
          <p className="font-medium">The manifest cannot be imported; nothing was sent:</p>
          <ul className="list-disc pl-5">
            {plan.problems.map((problem) => (
              <li key={`${problem.path}:${problem.message}`}>
                <code>{problem.path}</code>
                {/* The entry's id beside its index, as the CLI prints it: a long file's entry is found by its id. */}
                {problem.entry !== undefined && <> ({problem.entry})</>}: {problem.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {plan?.ok && (
        <div className="space-y-2">
          <p className="text-sm">
            {plan.services.length === 1 ? "1 service" : `${plan.services.length} services`} from <code>{fileName}</code>:
          </p>
          <ul aria-label="Services in the manifest" className="max-h-60 list-disc overflow-auto pl-5 text-sm">
            {plan.services.map((service) => {
              const outcome = outcomes.find((item) => item.id === service.id);
              return (
                <li key={service.id}>
                  <span className="font-mono">{service.id}</span> — {service.name}
                  {service.url && <span className="text-slate-600 dark:text-slate-400"> ({service.url})</span>}
                  {outcome && <strong className="ml-2">{outcome.result === "failed" ? `failed: ${outcome.message}` : outcome.result}</strong>}
                </li>
              );
            })}
          </ul>
        </div>
      )}
      <p role="status" className="text-sm">
        {finished ? (failed === 0 ? `Imported ${outcomes.length} of ${outcomes.length}.` : `${failed} of ${outcomes.length} failed.`) : ""}
      </p>
      <div className="flex gap-2">
        {plan?.ok && !finished && (
          <Button look="primary" busy={busy} onClick={() => void registerAll()}>
            {`Register ${plan.services.length === 1 ? "1 service" : `${plan.services.length} services`}`}
          </Button>
        )}
        <Button onClick={onClose}>{finished ? "Close" : "Cancel"}</Button>
      </div>
    </section>
  );
}
