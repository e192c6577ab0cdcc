/**
 * @module http/front-doors/prompted-chat
 * A prompt used by name on `/v1/chat/completions` (issue 17): the body's `prompt: {name, version?|label?, variables}`
 * is rendered as the caller (who needs `prompts:read` besides `gateway:invoke`, and `vault:read` for a template with
 * vault references) and its messages go before the body's own; `prompt` itself is removed, so no provider ever sees
 * it. The resolved version, never just the label, is recorded: the `x-kai-prompt-version` response header and a log
 * line with the request id (the rendered text is in neither).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { PROMPT_VERSION_HEADER, type ChatCompletionRequest, type PromptedChatCompletionRequest, type RenderPromptResponse } from "@kai/protocol";
import { hasAnyScope, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";

/** What the front door needs of the prompt store (prompts/prompt-service.ts). */
export interface PromptRenderer {
  render(name: string, choice: { version?: number | undefined; label?: string | undefined }, variables: Readonly<Record<string, unknown>>, principal: Principal, requestId?: string): Promise<RenderPromptResponse>;
}

/** The chat request to route: `body` itself when it names no prompt, else the rendered messages first. */
export async function withPromptMessages(body: PromptedChatCompletionRequest, request: FastifyRequest, reply: FastifyReply, prompts: PromptRenderer | undefined): Promise<ChatCompletionRequest> {
  // The common case costs nothing: the body as it came (no copy on the gateway's hot path).
  if (body.prompt === undefined) return body as ChatCompletionRequest;
  const { prompt, ...rest } = body;
  if (!prompts) throw new ApiError("validation_failed", "this node has no prompt store", [{ path: "body.prompt", message: "not supported here" }]);
  const principal = principalOf(request);
  if (!hasAnyScope(principal, ["prompts:read"])) throw new ApiError("forbidden", "using a prompt needs the prompts:read scope");
  const rendered = await prompts.render(prompt.name, { version: prompt.version, label: prompt.label }, prompt.variables, principal, request.id);
  reply.header(PROMPT_VERSION_HEADER, `${rendered.name}@${rendered.version}`);
  request.log.info({ prompt: rendered.name, promptVersion: rendered.version }, "prompt rendered");
  const messages = rendered.messages ?? [{ role: "user" as const, content: rendered.text ?? "" }];
  return { ...rest, messages: [...messages, ...(rest.messages ?? [])] } as ChatCompletionRequest;
}
