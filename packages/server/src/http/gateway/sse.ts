/**
 * @module http/gateway/sse
 * Writes a routed chat stream as OpenAI-style server-sent events: one `data:` frame per chunk, then
 * `data: [DONE]`. If the stream breaks after it started, the last frame is an in-band error
 * (`data: {"error":{…}}`) and there is no `[DONE]`: the official OpenAI client raises it as an APIError,
 * and no client can mistake a truncated answer for a complete one (Portkey #1797, LiteLLM #40404).
 * The body is a Node Readable handed to `reply.send`, so Fastify's hooks (logs, metrics) still run.
 */
import { Readable } from "node:stream";
import { ERROR_STATUS, type ErrorCode } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { RoutedStream } from "../../gateway/router/router-types.js";

const DONE = "data: [DONE]\n\n";

function errorFrame(error: unknown): string {
  const code: ErrorCode = error instanceof ApiError ? error.code : "upstream_stream_broken";
  const message = error instanceof ApiError ? error.message : "the stream broke";
  // `type` and `code` as OpenAI clients read them; `message` never carries a credential (UpstreamError redacts).
  return `data: ${JSON.stringify({ error: { code, message, type: code, status: ERROR_STATUS[code] } })}\n\n`;
}

export function sseBody(stream: RoutedStream): Readable {
  async function* frames(): AsyncGenerator<string> {
    let ok = false;
    let failure: unknown;
    try {
      for await (const chunk of stream) yield `data: ${JSON.stringify(chunk)}\n\n`;
      ok = true;
      yield DONE;
    } catch (error) {
      failure = error;
      yield errorFrame(error);
    } finally {
      // Also reached when the client went away and the Readable was destroyed mid-stream.
      if (!ok && failure === undefined) stream.cancel();
    }
  }
  return Readable.from(frames(), { objectMode: false });
}
