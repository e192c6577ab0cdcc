/**
 * @module bus/task-event-log
 * Where task events are kept: every event of a task is stored with its per-task sequence number (1, 2, …, no
 * gaps) before it is published, so an event stream (WebSocket, SSE, A2A re-subscribe) that resumes "after seq N"
 * replays N+1… from here and then continues live, missing nothing (the complaint of a2aproject/A2A#1635).
 * Implemented by the task store of each storage backend.
 */
import type { BusEvent } from "@kai/protocol";

export interface TaskEventLog {
  /** Stores `event` as the task's next event and returns it with its `seq`; atomic per task (no gap, no duplicate). */
  append(taskId: string, event: Omit<BusEvent, "seq" | "taskId">): Promise<BusEvent>;
  /** The task's events with seq > `afterSeq`, in order, at most `limit`. */
  eventsAfter(taskId: string, afterSeq: number, limit: number): Promise<BusEvent[]>;
}
