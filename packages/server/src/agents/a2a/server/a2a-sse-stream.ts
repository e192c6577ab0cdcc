/**
 * @module agents/a2a/server/a2a-sse-stream
 * The server-sent-event stream of A2A's JSON-RPC streaming methods (SendStreamingMessage, SubscribeToTask), on the
 * pulled stream both bindings share (pulled-sse-stream.ts). Each `data:` is one JSON-RPC response from the SDK's
 * transport handler; a task event carries `id: <taskId>:<seq>` (the Last-Event-ID a re-subscribe resumes after); a
 * failure or a cut is an `error` event carrying a JSON-RPC error.
 */
import { JsonRpcTransportHandler } from "@a2a-js/sdk/server";
import { PulledSseStream, type PulledSseStreamOptions } from "./pulled-sse-stream.js";

export interface A2aSseStreamOptions extends PulledSseStreamOptions {
  /** The JSON-RPC id of the request (every answer repeats it). */
  rpcId: string | number | null;
}

/** The SSE `id:` of a stream answer: `<taskId>:<seq>` for an event of the task, none for the first (the Task). */
export function sseIdOf(answer: unknown): string | undefined {
  const result = (answer as { result?: Record<string, { taskId?: unknown; metadata?: { kai?: { seq?: unknown } } }> }).result;
  const update = result?.statusUpdate ?? result?.artifactUpdate;
  const seq = update?.metadata?.kai?.seq;
  return typeof update?.taskId === "string" && typeof seq === "number" ? `${update.taskId}:${seq}` : undefined;
}

function frame(data: unknown, event?: string): string {
  const id = event ? undefined : sseIdOf(data);
  return `${id ? `id: ${id}\n` : ""}${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

export class A2aSseStream extends PulledSseStream<unknown> {
  constructor(answers: AsyncIterator<unknown>, first: IteratorResult<unknown>, private readonly options: A2aSseStreamOptions, endAt: number) {
    super(answers, first, options, endAt);
  }

  protected frameOf(answer: unknown): string {
    return frame(answer);
  }

  /** After the stream began: an `error` event with the JSON-RPC error (the SDK client raises it), then the end. */
  protected failureFrame(error: unknown): string {
    return frame({ jsonrpc: "2.0", id: this.options.rpcId, error: JsonRpcTransportHandler.mapToJSONRPCError(error) }, "error");
  }

  protected cutFrame(message: string): string {
    return frame({ jsonrpc: "2.0", id: this.options.rpcId, error: { code: -32603, message } }, "error");
  }
}
