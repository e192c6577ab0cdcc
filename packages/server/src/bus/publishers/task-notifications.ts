/**
 * @module bus/publishers/task-notifications
 * USER_NOTIFICATION to a task's owner when the task completes, fails, is canceled or rejected, or one of its steps asks a
 * question (input-required). It watches what kCore publishes on THIS instance (a wrapper around the bus kCore is
 * given), not the bus itself: every instance receives every task event, but only the one running the task sees it
 * published, so each notification is sent once in a cluster. The notification names the task and links to it; it
 * carries no result or input (those stay behind `GET /api/agent/task/{id}`, where access is checked).
 */
import type { BusEvent } from "@kai/protocol";
import type { EventBus } from "../event-bus.js";
import { systemEvent } from "./system-event.js";

/** What the notification says happened. */
export type TaskNotificationKind = "task_completed" | "task_failed" | "task_canceled" | "task_rejected" | "task_input_required";

const TERMINAL: Record<string, TaskNotificationKind> = { completed: "task_completed", failed: "task_failed", canceled: "task_canceled", rejected: "task_rejected" };

/** The notification a task event calls for, or null (most task events call for none). */
export function taskNotification(event: BusEvent): BusEvent | null {
  if (event.type !== "TASK_PROGRESS" || event.taskId === undefined || event.owner === undefined) return null;
  const payload = event.payload;
  let kind: TaskNotificationKind | undefined;
  if (payload.stepState === "input-required") kind = "task_input_required";
  else if (payload.step === undefined && typeof payload.state === "string") kind = TERMINAL[payload.state];
  if (!kind) return null;
  const taskId = event.taskId;
  const message = messageOf(kind, payload);
  return systemEvent(
    "USER_NOTIFICATION",
    {
      kind,
      taskId,
      ...(typeof payload.step === "string" ? { step: payload.step } : {}),
      title: titleOf(kind),
      message,
      // The web app's page for the task (the notification list links to it).
      link: `/agents/tasks/${encodeURIComponent(taskId)}`,
    },
    { owner: event.owner, agent: event.agent ?? "kCore:main", correlationId: taskId },
  );
}

function titleOf(kind: TaskNotificationKind): string {
  switch (kind) {
    case "task_completed":
      return "Task completed";
    case "task_failed":
      return "Task failed";
    case "task_canceled":
      return "Task canceled";
    case "task_rejected":
      return "Task rejected";
    case "task_input_required":
      return "A task needs your answer";
  }
}

function messageOf(kind: TaskNotificationKind, payload: Record<string, unknown>): string {
  if (kind === "task_failed") {
    const error = payload.error as { code?: unknown } | undefined;
    return typeof error?.code === "string" ? `The task failed (${error.code}).` : "The task failed.";
  }
  if (kind === "task_input_required") return typeof payload.step === "string" ? `Step ${payload.step} is waiting for input.` : "A step is waiting for input.";
  if (kind === "task_rejected") return "The task was rejected.";
  return kind === "task_completed" ? "The task finished; its result is ready." : "The task was canceled.";
}

/**
 * The bus kCore publishes on: every event goes to `bus` unchanged, and a task event that calls for a notification
 * is followed by it (after the task event, so a client never sees "completed" announced before it happened).
 */
export function withTaskNotifications(bus: EventBus, onError: (error: unknown) => void): EventBus {
  return {
    get kind() {
      return bus.kind;
    },
    async publish(event) {
      await bus.publish(event);
      const notification = taskNotification(event);
      if (notification) bus.publish(notification).catch(onError);
    },
    subscribe: (listener) => bus.subscribe(listener),
    close: () => bus.close(),
  };
}
