/**
 * @module views/playground/OneShotPanel
 * What the playground's one-shot calls (embeddings, image generation) share: the call's state (busy, the answer
 * with who served it, the failure) and the page around their form: the form and its output on the left; the target,
 * who answered and the request's parameters on the right. Chat streams and keeps a conversation, so it has its own.
 */
import { useState, type ReactNode } from "react";
import type { ServedInfo } from "@kai/sdk";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { ParamFields } from "./ParamFields";
import { ServedBy } from "./ServedBy";
import { TargetPicker, type Target } from "./TargetPicker";
import type { ParamField, ParamValues } from "./params";

/** One gateway call at a time: its answer replaces the last one; a failure clears it. */
export function useOneShotCall<T extends ServedInfo>() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<T | undefined>();
  const [failure, setFailure] = useState<unknown>(null);
  async function run(call: () => Promise<T>): Promise<void> {
    setFailure(null);
    setBusy(true);
    try {
      setResult(await call());
    } catch (error) {
      setResult(undefined);
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }
  return { busy, result, failure, run };
}

export interface OneShotPanelProps {
  title: string;
  capability: string;
  modelRequired?: boolean;
  target: Target;
  onTarget(target: Target): void;
  fields: ParamField[];
  params: ParamValues;
  onParams(values: ParamValues): void;
  errors: Record<string, string>;
  served: ServedInfo | undefined;
  failure: unknown;
  /** The form (its fields and submit button). */
  form: ReactNode;
  /** What the last answer shows, under the form. */
  output: ReactNode;
}

export function OneShotPanel(props: OneShotPanelProps) {
  return (
    <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
      <Panel title={props.title}>
        {props.form}
        <div className="mt-4 space-y-3">
          <ErrorNotice error={props.failure} title="The gateway could not answer" />
          {props.output}
        </div>
      </Panel>
      <div className="space-y-4">
        <Panel title="Target">
          <TargetPicker capability={props.capability} target={props.target} onChange={props.onTarget} modelRequired={props.modelRequired ?? true} modelError={props.errors.model} />
        </Panel>
        <ServedBy served={props.served} />
        <Panel title="Request">
          <ParamFields fields={props.fields} values={props.params} errors={props.errors} onChange={props.onParams} />
        </Panel>
      </div>
    </div>
  );
}
