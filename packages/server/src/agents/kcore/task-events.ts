/**
 * @module agents/kcore/task-events
 * The events kCore emits for a task, in the bus's one shape: TASK_PROGRESS (task and step state changes, from
 * `kCore:main`), AGENT_RESULT (a step's output, from its assignee) and AGENT_ERROR (a failed attempt, from its
 * assignee). The store gives each its task id and sequence number when it is committed.
 */
import { randomUUID } from "node:crypto";
import type { BusEventType } from "@kai/protocol";
import type { NewTaskEvent } from "../../storage/contracts/task-store.js";

/** The orchestrator's own agent id on the bus. */
export const KCORE_AGENT = "kCore:main";

export function taskEvent(type: BusEventType, planId: string | undefined, agent: string, payload: Record<string, unknown>): NewTaskEvent {
  return { id: randomUUID(), type, agent, ...(planId !== undefined ? { planId } : {}), payload, timestamp: new Date().toISOString() };
}
