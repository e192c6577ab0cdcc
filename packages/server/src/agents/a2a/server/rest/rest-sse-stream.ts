/**
 * @module agents/a2a/server/rest/rest-sse-stream
 * The server-sent-event stream of the HTTP+JSON binding's streaming calls (`POST …/message:stream`,
 * `GET|POST …/tasks/{id}:subscribe`), on the pulled stream both bindings share (../pulled-sse-stream.ts).
 * The difference is the framing A2A gives this binding: each `data:` is a bare StreamResponse in proto JSON
 * (`{"task":…}`, `{"statusUpdate":…}`, `{"artifactUpdate":…}`), not a JSON-RPC envelope, and a failure after the
 * stream began is an `event: error` whose data is the AIP-193 error body (rest-errors.ts), which the official
 * client raises as the A2A error it names. A task event carries `id: <taskId>:<seq>`, the Last-Event-ID a
 * subscribe resumes after.
 */
import { StreamResponse } from "@a2a-js/sdk";
import { A2AError } from "@a2a-js/sdk/errors";
import type { Logger } from "../../../../logging/logger.js";
import { PulledSseStream, type PulledSseStreamOptions } from "../pulled-sse-stream.js";
import { restErrorAnswer } from "./rest-errors.js";

export interface RestSseStreamOptions extends PulledSseStreamOptions {
  logger: Logger;
}

/** The SSE `id:` of a StreamResponse in proto JSON: `<taskId>:<seq>` for an event of the task, none for the Task. */
export function restSseIdOf(json: unknown): string | undefined {
  const update = (json as Record<string, { taskId?: unknown; metadata?: { kai?: { seq?: unknown } } } | undefined>) ?? {};
  const event = update.statusUpdate ?? update.artifactUpdate;
  const seq = event?.metadata?.kai?.seq;
  return typeof event?.taskId === "string" && typeof seq === "number" ? `${event.taskId}:${seq}` : undefined;
}

function eventFrame(response: StreamResponse): string {
  const json = StreamResponse.toJSON(response);
  const id = restSseIdOf(json);
  return `${id ? `id: ${id}\n` : ""}data: ${JSON.stringify(json)}\n\n`;
}

export class RestSseStream extends PulledSseStream<StreamResponse> {
  constructor(responses: AsyncIterator<StreamResponse>, first: IteratorResult<StreamResponse>, private readonly options: RestSseStreamOptions, endAt: number) {
    super(responses, first, options, endAt);
  }

  protected frameOf(response: StreamResponse): string {
    return eventFrame(response);
  }

  protected failureFrame(error: unknown): string {
    return `event: error\ndata: ${JSON.stringify(restErrorAnswer(error, this.options.logger).body)}\n\n`;
  }

  protected cutFrame(message: string): string {
    return this.failureFrame(new A2AError(message));
  }
}
