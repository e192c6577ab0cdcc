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
import { TextArea } from "../../components/Field";
import { OneShotPanel, useOneShotCall } from "./OneShotPanel";
import { hintsOf, type Target } from "./TargetPicker";
import { paramsFrom, validate, type ParamValues } from "./params";
import { useParamFields, type ParamFieldsSource } from "./useParamFields";

const PARAMS_SOURCE = { capability: "embeddings", operation: "embeddings", schema: EmbeddingRequestSchema, skip: ["model", "input"] } as const satisfies ParamFieldsSource;

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
  const fields = useParamFields(PARAMS_SOURCE, target);
  const call = useOneShotCall<{ embeddings: EmbeddingResponse } & ServedInfo>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const texts = input.split("\n").filter((line) => line.trim() !== "");
    const checked = validate<EmbeddingRequest>(EmbeddingRequestSchema, { ...paramsFrom(fields, params), model: target.model.trim(), input: texts.length === 1 ? (texts[0] as string) : texts });
    if (texts.length === 0 || !checked.ok) {
      setErrors({ ...(checked.ok ? {} : checked.errors), ...(texts.length === 0 ? { input: "Write at least one text." } : {}) });
      return;
    }
    setErrors({});
    await call.run(() => client.gateway.embeddings(checked.request, hintsOf(target)));
  }

  return (
    <OneShotPanel
      title="Embeddings"
      capability={PARAMS_SOURCE.capability}
      target={target}
      onTarget={setTarget}
      fields={fields}
      params={params}
      onParams={setParams}
      errors={errors}
      served={call.result}
      failure={call.failure}
      form={
        <form onSubmit={(event) => void submit(event)} className="space-y-3" aria-label="Embed texts">
          <TextArea label="Texts" hint="One text per line; each gets its own vector." rows={4} value={input} error={errors.input} onChange={(event) => setInput(event.target.value)} />
          <Button type="submit" look="primary" busy={call.busy}>
            Embed
          </Button>
        </form>
      }
      output={
        call.result && (
          <ol aria-label="Vectors" className="space-y-1 font-mono text-xs">
            {call.result.embeddings.data.map((item) => (
              <li key={item.index}>
                #{item.index + 1}: {preview(item.embedding)}
              </li>
            ))}
          </ol>
        )
      }
    />
  );
}
