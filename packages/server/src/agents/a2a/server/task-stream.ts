/**
 * @module agents/a2a/server/task-stream
 * An A2A stream of one kCore task, read from its STORED events: first the full Task (A2A v1.0: a fresh subscriber
 * needs no extra GetTask), then every event after a sequence number, from the task event log and then live, in order
 * with no gap and no duplicate (the event hub's task subscription does the replay). A client that lost its stream
 * subscribes again and gets what it missed (the complaint of a2aproject/A2A#1635). Closing the stream never touches
 * the task: execution is kCore's, not the HTTP request's.
 */
import type { StreamResponse } from "@a2a-js/sdk";
import type { Task, TaskState } from "@kai/protocol";
import type { EventHub } from "../../../bus/event-hub.js";
import type { Viewer } from "../../../storage/contracts/viewer.js";
import { isTerminal, stateAfter, toA2aTask, toStreamResponses } from "./a2a-mapping.js";

export interface TaskStreamOptions {
  hub: Pick<EventHub, "subscribe">;
  viewer: Viewer;
  /** The task as stored when the stream starts: sent first. */
  snapshot: Task;
  /** Replay the stored events after this seq (the snapshot's lastSeq: only what is new; 0: every event). */
  after: number;
  /** Where the stream ends besides a terminal state (SendStreamingMessage also ends at input-required, as A2A says). */
  endAt: (state: TaskState) => boolean;
  signal?: AbortSignal;
}

/** Raised when the hub ends the stream before the task did (the node shutting down, a reader far behind). */
export class StreamCutError extends Error {
  constructor(readonly reason: string) {
    super(`the task's event stream was cut (${reason}); subscribe again to resume`);
  }
}

export async function* taskStream(options: TaskStreamOptions): AsyncGenerator<StreamResponse, void, undefined> {
  const { snapshot } = options;
  yield { payload: { $case: "task", value: toA2aTask(snapshot) } };
  if (isTerminal(snapshot.state) || (options.after >= snapshot.lastSeq && options.endAt(snapshot.state))) return;
  if (options.signal?.aborted) return;
  const subscription = options.hub.subscribe(options.viewer, { task: snapshot.id, after: options.after });
  const stop = () => subscription.close();
  options.signal?.addEventListener("abort", stop, { once: true });
  // The state as of `after`: replayed events set it again from the start, live ones move it on.
  let state: TaskState = options.after >= snapshot.lastSeq ? snapshot.state : "submitted";
  try {
    for (;;) {
      const item = await subscription.next();
      if (!item) return;
      if (item.type === "dropped") throw new StreamCutError(item.notice.reason);
      const { event } = item;
      state = stateAfter(event, state);
      for (const response of toStreamResponses(event, state)) yield response;
      // Ends with the event that finished it; an interruption ends it only once the replay has reached the present.
      if (isTerminal(state) || (options.endAt(state) && event.seq !== undefined && event.seq >= snapshot.lastSeq)) return;
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    subscription.close();
  }
}
