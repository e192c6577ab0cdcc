/**
 * @module views/playground/EmbeddingsPanel
 * Embeddings through the gateway (`client.gateway.embeddings`): one text per line in, one vector per line out,
 * shown by its length and first values (a vector of 3 072 numbers is not something to read in full).
 */
import { useState, type FormEvent } from "react";
import { EmbeddingRequestSchema, type EmbeddingRequest } from "@kai/protocol";
import type { EmbeddingResponse, ServedInfo } from "@kai/sdk";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextArea } from "../../components/Field";
import { Panel } from "../../components/Page";
import { ParamFields } from "./ParamFields";
import { ServedBy } from "./ServedBy";
import { TargetPicker, hintsOf, type Target } from "./TargetPicker";
import { paramFields, paramsFrom, validate, type ParamValues } from "./params";

const FIELDS = paramFields(EmbeddingRequestSchema, ["model", "input"]);

function preview(vector: number[] | string): string {
  if (typeof vector === "string") return `base64, ${vector.length} characters`;
  const head = vector.slice(0, 4).map((value) => value.toFixed(4)).join(", ");
  return `${vector.length} dimensions: [${head}${vector.length > 4 ? ", …" : ""}]`;
}

export function EmbeddingsPanel() {
  const client = useClient();
  const [target, setTarget] = useState<Target>({ model: "", serviceId: "" });
  const [input, setInput] = useState("");
  const [params, setParams] = useState<ParamValues>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<({ embeddings: EmbeddingResponse } & ServedInfo) | undefined>();
  const [failure, setFailure] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const texts = input.split("\n").filter((line) => line.trim() !== "");
    const checked = validate<EmbeddingRequest>(EmbeddingRequestSchema, { ...paramsFrom(FIELDS, params), model: target.model.trim(), input: texts.length === 1 ? (texts[0] as string) : texts });
    if (texts.length === 0 || !checked.ok) {
      setErrors({ ...(checked.ok ? {} : checked.errors), ...(texts.length === 0 ? { input: "Write at least one text." } : {}) });
      return;
    }
    setErrors({});
    setFailure(null);
    setBusy(true);
    try {
      setResult(await client.gateway.embeddings(checked.request, hintsOf(target)));
    } catch (error) {
      setResult(undefined);
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
      <Panel title="Embeddings">
        <form onSubmit={(event) => void submit(event)} className="space-y-3" aria-label="Embed texts">
          <TextArea label="Texts" hint="One text per line; each gets its own vector." rows={4} value={input} error={errors.input} onChange={(event) => setInput(event.target.value)} />
          <Button type="submit" look="primary" busy={busy}>
            Embed
          </Button>
        </form>
        <div className="mt-4 space-y-3">
          <ErrorNotice error={failure} title="The gateway could not answer" />
          {result && (
            <ol aria-label="Vectors" className="space-y-1 font-mono text-xs">
              {result.embeddings.data.map((item) => (
                <li key={item.index}>
                  #{item.index + 1}: {preview(item.embedding)}
                </li>
              ))}
            </ol>
          )}
        </div>
      </Panel>
      <div className="space-y-4">
        <Panel title="Target">
          <TargetPicker capability="embeddings" target={target} onChange={setTarget} modelError={errors.model} />
        </Panel>
        <ServedBy served={result} />
        <Panel title="Request">
          <ParamFields fields={FIELDS} values={params} errors={errors} onChange={setParams} />
        </Panel>
      </div>
    </div>
  );
}
