/**
 * @module test/agents/planner/scripted-openai
 * The fake OpenAI server (test/gateway/fakes/openai-fake.ts) with scripted chat answers: a language model whose
 * next answers a test decides (a valid plan, an invalid one, prose). Every other route, and the wire format of the
 * answer, are the fake's own; only the assistant's text changes.
 */
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "../../gateway/fakes/fake-server.js";
import { OPENAI_MODEL, openaiWire } from "../../gateway/fakes/openai-fake.js";

export interface ScriptedOpenAI {
  fake: FakeUpstream;
  /** The next answers, in order; once used up, every answer is `fallback`. */
  script(...answers: string[]): void;
  fallback: string;
  /** The chat requests received since the last `script` call. */
  chats(): RecordedRequest[];
}

export async function startScriptedOpenAI(): Promise<ScriptedOpenAI> {
  const queue: string[] = [];
  const base = openaiWire();
  let since = 0;
  const state = { fallback: "I cannot help with that." };
  const wire: ProviderWire = {
    errorBody: base.errorBody,
    streamErrorFrame: base.streamErrorFrame,
    route(request, res, fake) {
      if (request.method !== "POST" || request.path !== "/v1/chat/completions" || (request.body as { stream?: unknown }).stream === true) return base.route(request, res, fake);
      const content = queue.shift() ?? state.fallback;
      fake.sendJson(res, 200, {
        id: "chatcmpl-scripted",
        object: "chat.completion",
        created: 1_700_000_000,
        model: OPENAI_MODEL,
        system_fingerprint: "fp_fake",
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
        usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 },
      });
    },
  };
  const fake = await new FakeUpstream(wire).start();
  return {
    fake,
    script(...answers) {
      queue.splice(0, queue.length, ...answers);
      since = fake.requests.length;
    },
    get fallback() {
      return state.fallback;
    },
    set fallback(value: string) {
      state.fallback = value;
    },
    chats: () => fake.requests.slice(since).filter((request) => request.path === "/v1/chat/completions"),
  };
}
