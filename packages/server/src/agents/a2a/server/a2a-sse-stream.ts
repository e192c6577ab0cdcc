/**
 * @module agents/a2a/server/a2a-sse-stream
 * The server-sent-event stream of A2A's streaming methods (SendStreamingMessage, SubscribeToTask) on the node's
 * shared SSE base (http/sse-stream.ts: the `retry:` line, keep-alives, an end by token expiry or after 10 minutes),
 * so A2A streams behave like the node's other streams instead of being hand-written again. Each `data:` is one
 * JSON-RPC response from the SDK's transport handler; a task event carries `id: <taskId>:<seq>` (the Last-Event-ID a
 * re-subscribe resumes after). Frames are pulled from the handler's iterator only as the client reads them (a slow
 * reader is then dropped by the event hub with a notice, never buffered without bound here). A stream cut before
 * the task ended (shutdown, time up, dropped) ends with an `error` event, so a client never reads a cut as "done";
 * a client's hang-up ends its stream, never the task.
 */
import { JsonRpcTransportHandler } from "@a2a-js/sdk/server";
import { SseStream } from "../../../http/sse-stream.js";

export interface A2aSseStreamOptions {
  /** The JSON-RPC id of the request (every answer repeats it). */
  rpcId: string | number | null;
  /** Aborted when the client hangs up or the node shuts down (the iterator then ends). */
  signal: AbortSignal;
  /** Whether the node is shutting down (a cut is then reported as such). */
  closing(): boolean;
  /** Called once when the stream ends or is destroyed: releases the caller's stream quota, and aborts `signal` (so an
   * iterator waiting for the next event lets go at once). */
  onEnd(): void;
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

export class A2aSseStream extends SseStream {
  private pumping = false;
  private wanted = false;
  private over = false;

  /** `first`: the answer already read (the caller reads it before the stream, to answer an early error as JSON). */
  constructor(
    private readonly answers: AsyncIterator<unknown>,
    first: IteratorResult<unknown>,
    private readonly options: A2aSseStreamOptions,
    endAt: number,
  ) {
    super(endAt);
    if (first.done) this.close();
    else this.push(frame(first.value));
  }

  override _read(): void {
    this.wanted = true;
    if (!this.pumping && !this.over) void this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  protected expire(): void {
    this.cut("the stream's time is up (token expiry or 10 minutes): subscribe to the task again to resume");
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.wanted && !this.over) {
        const next = await this.answers.next();
        if (this.over) return;
        if (next.done || this.options.signal.aborted) {
          // Cut by the shutdown, not ended by the task: say so (a clean end would read as "done").
          if (this.options.closing() && this.options.signal.aborted) this.cut("the node is shutting down: subscribe to the task again to resume");
          else this.close();
          return;
        }
        this.wanted = this.push(frame(next.value));
      }
    } catch (error) {
      // After the stream began: an `error` event with the JSON-RPC error (the SDK client raises it), then the end.
      if (this.options.signal.aborted) this.close();
      else this.end(frame({ jsonrpc: "2.0", id: this.options.rpcId, error: JsonRpcTransportHandler.mapToJSONRPCError(error) }, "error"));
    } finally {
      this.pumping = false;
    }
  }

  private cut(message: string): void {
    this.end(frame({ jsonrpc: "2.0", id: this.options.rpcId, error: { code: -32603, message } }, "error"));
  }

  private end(last: string): void {
    if (this.over) return;
    if (!this.destroyed) this.push(last);
    this.close();
  }

  private close(): void {
    if (this.over) return;
    this.release();
    if (!this.destroyed) this.push(null);
  }

  private release(): void {
    if (this.over) return;
    this.over = true;
    this.stopTimers();
    this.options.onEnd();
    void this.answers.return?.(undefined)?.catch(() => undefined);
  }
}
