/**
 * @module bus/memory-task-event-log
 * The TaskEventLog of the memory storage backend: each task's events in an array, numbered 1, 2, … as they are
 * appended. Appends are synchronous inside the call, so two concurrent appends to one task can never get the same
 * sequence number or leave a gap. Nothing survives a restart, as with every other part of the memory backend.
 */
import type { BusEvent } from "@kai/protocol";
import type { TaskEventLog } from "./task-event-log.js";

export function createMemoryTaskEventLog(): TaskEventLog & { forget(taskId: string): void } {
  const tasks = new Map<string, BusEvent[]>();
  return {
    async append(taskId, event) {
      let events = tasks.get(taskId);
      if (!events) tasks.set(taskId, (events = []));
      const stored: BusEvent = { ...event, taskId, seq: events.length + 1 };
      events.push(stored);
      return { ...stored };
    },
    async eventsAfter(taskId, afterSeq, limit) {
      const events = tasks.get(taskId) ?? [];
      // seq n is at index n-1: no search needed.
      return events.slice(Math.max(0, afterSeq), Math.max(0, afterSeq) + Math.max(0, limit)).map((event) => ({ ...event }));
    },
    forget(taskId) {
      tasks.delete(taskId);
    },
  };
}
