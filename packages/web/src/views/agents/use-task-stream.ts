/**
 * @module views/agents/use-task-stream
 * Follows one task's events (`client.events.stream({ task, after })`) while its page is open: it starts after the
 * last sequence number of the task as first read, and the SDK resumes after the last one received when the
 * connection drops, so no event is missed or seen twice. Each event's step state is shown at once (`states`, used
 * where its seq is newer than the task as read), and
 * the stored task is read again (it is committed with its events, so the read is at least as new as the event).
 * Stops once the task is finished.
 */
import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { StepStateSchema, type BusEvent, type StepState } from "@kai/protocol";
import { useClient } from "../../app/session";
import { agentKeys } from "./agents-queries";

export interface TaskStream {
  /** Each step's latest state from the events, with the event's seq (newer than the task read: shown instead). */
  states: ReadonlyMap<string, { state: StepState; seq: number }>;
  /** The events received on this page, oldest first (the activity list). */
  events: readonly BusEvent[];
  /** The stream dropped and is reconnecting (the SDK resumes after the last seq). */
  reconnecting: boolean;
}

export function useTaskStream(id: string, startAfter: number | undefined, finished: boolean): TaskStream {
  const client = useClient();
  const queries = useQueryClient();
  const [events, setEvents] = useState<BusEvent[]>([]);
  const [states, setStates] = useState<ReadonlyMap<string, { state: StepState; seq: number }>>(new Map());
  const [reconnecting, setReconnecting] = useState(false);
  const following = startAfter !== undefined && !finished;

  useEffect(() => {
    if (!following) return;
    const controller = new AbortController();
    void (async () => {
      const stream = await client.events.stream({ task: id, after: startAfter }, { signal: controller.signal });
      for await (const item of stream) {
        if (item.type === "dropped") {
          setReconnecting(item.resumed);
          continue;
        }
        setReconnecting(false);
        const { event } = item;
        setEvents((seen) => (seen.some((known) => known.id === event.id) ? seen : [...seen, event]));
        const step = typeof event.payload.step === "string" ? event.payload.step : undefined;
        const stepState = StepStateSchema.safeParse(event.type === "AGENT_RESULT" ? "completed" : event.payload.stepState);
        if (step !== undefined && stepState.success && event.seq !== undefined) {
          const seq = event.seq;
          setStates((known) => new Map(known).set(step, { state: stepState.data, seq }));
        }
        void queries.invalidateQueries({ queryKey: agentKeys.task(id) });
      }
    })().catch(() => undefined); // left the page (aborted), or refused: the task as read stays on screen
    return () => controller.abort();
    // startAfter is read once per task: later reads of the task must not restart the stream (the SDK resumes it).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, queries, id, following]);

  return { states, events, reconnecting };
}
