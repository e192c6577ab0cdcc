/**
 * @module gateway/connectors/anthropic/parameters
 * What the Anthropic connector honours (translate.ts `toAnthropicRequest`): `temperature`, `top_p`, `max_tokens`
 * (or `max_completion_tokens`; Anthropic requires one, 4096 when neither is given), `stop` → `stop_sequences`,
 * `user` → `metadata.user_id`, and Anthropic's own `top_k`. Anthropic has no `seed`: it is not sent.
 */
import { ChatCompletionRequestSchema } from "@kai/protocol";
import { EXTRAS, honours, type ConnectorParameters } from "../parameters.js";

const chat = honours(ChatCompletionRequestSchema, ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "user"], { top_k: EXTRAS.top_k });

export const ANTHROPIC_PARAMETERS: ConnectorParameters = { chat, chat_stream: chat };
