/**
 * @module agents/a2a/server/rest/rest-sse-stream
 * The server-sent-event stream of the HTTP+JSON binding's streaming calls (`POST …/message:stream`,
 * `GET|POST …/tasks/{id}:subscribe`), on the node's shared SSE base (http/sse-stream.ts: the `retry:` line,
 * keep-alives, an end by token expiry or after 10 minutes) like the JSON-RPC binding's stream (../a2a-sse-stream.ts).
 * The difference is the framing A2A gives this binding: each `data:` is a bare StreamResponse in proto JSON
 * (`{"task":…}`, `{"statusUpdate":…}`, `{"artifactUpdate":…}`), not a JSON-RPC envelope, and a failure after the
 * stream began is an `event: error` whose data is the AIP-193 error body (rest-errors.ts), which the official
 * client raises as the A2A error it names. A task event carries `id: <taskId>:<seq>`, the Last-Event-ID a
 * subscribe resumes after. Events are pulled from the handler only as the client reads them; a client's hang-up
 * ends its stream, never the task; a cut before the task ended (shutdown, time up) ends with an `error` event.
 */
import { StreamResponse } from "@a2a-js/sdk";
import { A2AError } from "@a2a-js/sdk/errors";
import type { Logger } from "../../../../logging/logger.js";
import { SseStream } from "../../../../http/sse-stream.js";
import { restErrorAnswer } from "./rest-errors.js";

export interface RestSseStreamOptions {
  /** Aborted when the client hangs up or the node shuts down (the iterator then ends). */
  signal: AbortSignal;
  /** Whether the node is shutting down (a cut is then reported as such). */
  closing(): boolean;
  /** Called once when the stream ends or is destroyed (releases the caller's stream quota, aborts `signal`). */
  onEnd(): void;
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

export class RestSseStream extends SseStream {
  private pumping = false;
  private wanted = false;
  private over = false;

  /** `first`: the response already read (the route reads it first, to answer an early error with a status). */
  constructor(
    private readonly responses: AsyncIterator<StreamResponse>,
    first: IteratorResult<StreamResponse>,
    private readonly options: RestSseStreamOptions,
    endAt: number,
  ) {
    super(endAt);
    if (first.done) this.close();
    else this.push(eventFrame(first.value));
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
        const next = await this.responses.next();
        if (this.over) return;
        if (next.done || this.options.signal.aborted) {
          // Cut by the shutdown, not ended by the task: say so (a clean end would read as "done").
          if (this.options.closing() && this.options.signal.aborted) this.cut("the node is shutting down: subscribe to the task again to resume");
          else this.close();
          return;
        }
        this.wanted = this.push(eventFrame(next.value));
      }
    } catch (error) {
      if (this.options.signal.aborted) this.close();
      else this.fail(error);
    } finally {
      this.pumping = false;
    }
  }

  private cut(message: string): void {
    this.fail(new A2AError(message));
  }

  private fail(error: unknown): void {
    if (this.over) return;
    const { body } = restErrorAnswer(error, this.options.logger);
    if (!this.destroyed) this.push(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
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
    void this.responses.return?.(undefined)?.catch(() => undefined);
  }
}
