/**
 * @module agents/kcore/task-prompt
 * A stored prompt used by name in a task (`prompt` on `POST /api/agent/task`, docs/agents/tasks.md "Prompts"). The
 * prompt is rendered twice, both times as the task's owner through the prompt service (so `{{vault:…}}` references
 * resolve only for a caller whose scopes and secret patterns allow them, and the vault audits each read):
 *
 * - at create, to refuse at once what cannot render (unknown prompt, missing variable, a secret the caller may not
 *   read) and to pin the version a label resolved to; the text is then dropped;
 * - at dispatch, into the step's input (a text prompt as `prompt`, a chat prompt as `messages`), handed to the
 *   dispatcher only.
 *
 * What the task stores is the reference (name, pinned version, variables), never the rendered text: a prompt that
 * reads a vault secret never puts that secret in the stored task, its events, its step runs or a log line.
 */
import type { PromptReference, RenderPromptResponse } from "@kai/protocol";
import { hasAnyScope, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";

/** What kCore uses of the prompt service (prompts/prompt-service.ts). */
export interface TaskPromptPort {
  render(name: string, choice: { version?: number | undefined; label?: string | undefined }, variables: Readonly<Record<string, unknown>>, principal: Principal): Promise<RenderPromptResponse>;
}

/** The prompt a task keeps: the version pinned at create, and the variables as given. */
export interface PinnedPrompt {
  name: string;
  version: number;
  variables: Record<string, unknown>;
}

/** Renders `reference` once as the caller (refusing what cannot render) and pins its version; the text is dropped. */
export async function pinPrompt(prompts: TaskPromptPort | undefined, reference: PromptReference, principal: Principal): Promise<PinnedPrompt> {
  if (!prompts) throw new ApiError("unavailable", "this node has no prompt store for tasks");
  // As on the gateway (http/front-doors/prompted-chat.ts): using a prompt is reading it.
  if (!hasAnyScope(principal, ["prompts:read"])) throw new ApiError("forbidden", "using a prompt in a task needs the prompts:read scope");
  const rendered = await prompts.render(reference.name, { version: reference.version, label: reference.label }, reference.variables, principal);
  return { name: reference.name, version: rendered.version, variables: reference.variables };
}

/** The step input with the rendered prompt: a text prompt as `prompt`, a chat prompt as `messages` (the caller's own input kept besides). */
export async function withPrompt(prompts: TaskPromptPort, pinned: PinnedPrompt, input: Record<string, unknown>, principal: Principal): Promise<Record<string, unknown>> {
  const rendered = await prompts.render(pinned.name, { version: pinned.version }, pinned.variables, principal);
  return rendered.type === "chat" ? { ...input, messages: rendered.messages ?? [] } : { ...input, prompt: rendered.text ?? "" };
}
