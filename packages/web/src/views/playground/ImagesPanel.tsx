/**
 * @module views/playground/ImagesPanel
 * Image generation through the gateway (`client.gateway.images`). Images that come back as data (`b64_json`) are
 * shown in the page; images that come back as an address are linked, not embedded: the app's Content Security
 * Policy loads images only from the node itself (and data: URLs), never from a provider's host.
 */
import { useState, type FormEvent } from "react";
import { ImageGenerationRequestSchema, type ImageGenerationRequest } from "@kai/protocol";
import type { ImageGenerationResponse, ServedInfo } from "@kai/sdk";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { TextArea } from "../../components/Field";
import { OneShotPanel, useOneShotCall } from "./OneShotPanel";
import { hintsOf, type Target } from "./TargetPicker";
import { paramsFrom, validate, type ParamValues } from "./params";
import { useParamFields, type ParamFieldsSource } from "./useParamFields";

const PARAMS_SOURCE = { capability: "image_generation", operation: "images", schema: ImageGenerationRequestSchema, skip: ["prompt", "model"] } as const satisfies ParamFieldsSource;

export function ImagesPanel() {
  const client = useClient();
  const [target, setTarget] = useState<Target>({ model: "", serviceId: "" });
  const [prompt, setPrompt] = useState("");
  const [params, setParams] = useState<ParamValues>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const fields = useParamFields(PARAMS_SOURCE, target);
  const call = useOneShotCall<{ images: ImageGenerationResponse } & ServedInfo>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const model = target.model.trim();
    const checked = validate<ImageGenerationRequest>(ImageGenerationRequestSchema, { ...paramsFrom(fields, params), prompt, ...(model ? { model } : {}) });
    if (!checked.ok) {
      setErrors(prompt.trim() ? checked.errors : { ...checked.errors, prompt: "Describe the image first." });
      return;
    }
    setErrors({});
    await call.run(() => client.gateway.images(checked.request, hintsOf(target)));
  }

  return (
    <OneShotPanel
      title="Image generation"
      capability={PARAMS_SOURCE.capability}
      modelRequired={false}
      target={target}
      onTarget={setTarget}
      fields={fields}
      params={params}
      onParams={setParams}
      errors={errors}
      served={call.result}
      failure={call.failure}
      form={
        <form onSubmit={(event) => void submit(event)} className="space-y-3" aria-label="Generate an image">
          <TextArea label="Prompt" rows={3} value={prompt} error={errors.prompt} onChange={(event) => setPrompt(event.target.value)} />
          <Button type="submit" look="primary" busy={call.busy}>
            Generate
          </Button>
        </form>
      }
      output={
        call.result && (
          <ul aria-label="Images" className="grid gap-3 sm:grid-cols-2">
            {call.result.images.data.map((image, index) => (
              <li key={index} className="space-y-1 text-sm">
                {image.b64_json ? (
                  <img src={`data:image/png;base64,${image.b64_json}`} alt={image.revised_prompt ?? prompt} className="max-w-full rounded-md" />
                ) : image.url ? (
                  <a href={image.url} target="_blank" rel="noreferrer noopener" className="text-sky-700 underline dark:text-sky-400">
                    Open image {index + 1} (hosted by the provider)
                  </a>
                ) : (
                  <span>Image {index + 1} came back empty.</span>
                )}
                {image.revised_prompt && <p className="text-xs text-slate-600 dark:text-slate-400">Prompt as the service read it: {image.revised_prompt}</p>}
              </li>
            ))}
          </ul>
        )
      }
    />
  );
}
