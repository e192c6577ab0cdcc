/**
 * @module sse
 * The messages of a server-sent-events body (the gateway's chat stream, the node's log stream), parsed with
 * eventsource-parser as they arrive. A consumer that stops early (returns or throws) cancels the body, so the
 * connection does not stay open behind it; once `complete` says a message was the stream's last (the gateway's
 * `[DONE]`), stopping leaves the body to end by itself.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { KaiApiError } from "./errors.js";

export type { EventSourceMessage };

export async function* sseMessages(response: Response, complete: (message: EventSourceMessage) => boolean = () => false): AsyncGenerator<EventSourceMessage> {
  const body = response.body;
  if (!body) throw new KaiApiError({ status: response.status, code: "invalid_response", message: "the stream has no body" });
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => queue.push(event) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      while (queue.length > 0) {
        const message = queue.shift() as EventSourceMessage;
        ended = complete(message);
        yield message;
        if (ended) return;
      }
    }
  } finally {
    if (!ended) await reader.cancel().catch(() => undefined);
  }
}
