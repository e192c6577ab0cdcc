/**
 * @module views/agents/agents-queries
 * The agent center's server data in the React Query cache under `["agents", …]`: the agents' status (health,
 * load, current tasks), the task list and one task. Kept live by one bus subscription (`useLiveAgentCenter`):
 * a registry change or a task's progress marks the lists stale, so they are read again; a burst of events costs
 * one read per interval, not one per event.
 */
import { useEffect } from "react";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import type { TaskState } from "@kai/protocol";
import { useClient } from "../../app/session";

export const agentKeys = {
  all: ["agents"] as const,
  status: ["agents", "status"] as const,
  tasks: (state: TaskState | "") => ["agents", "tasks", state] as const,
  task: (id: string) => ["agents", "task", id] as const,
};

/** At most one re-read per this many ms while events arrive. */
const REFRESH_EVERY_MS = 500;
/** Heartbeats age without an event: the status is read again this often anyway. */
const STATUS_REFRESH_MS = 15_000;
const TASKS_PAGE = 50;

export function useAgentStatus() {
  const client = useClient();
  return useQuery({ queryKey: agentKeys.status, queryFn: () => client.agents.status(), refetchInterval: STATUS_REFRESH_MS });
}

export function useTaskList(state: TaskState | "") {
  const client = useClient();
  return useInfiniteQuery({
    queryKey: agentKeys.tasks(state),
    queryFn: ({ pageParam }) => client.tasks.list({ ...(state ? { state } : {}), limit: TASKS_PAGE, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: "",
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
}

/**
 * Follows the bus (registry changes and task progress) while the agent center is open and marks the agents' status
 * and the task list stale on each burst. A dropped stream reconnects by itself (the SDK); what it missed meanwhile
 * is caught by the re-read that follows.
 */
export function useLiveAgentCenter(): void {
  const client = useClient();
  const queries = useQueryClient();
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        void queries.invalidateQueries({ queryKey: agentKeys.status });
        void queries.invalidateQueries({ queryKey: ["agents", "tasks"] });
      }, REFRESH_EVERY_MS);
    };
    void (async () => {
      const stream = await client.events.stream({ type: ["REGISTRY_CHANGE", "TASK_PROGRESS"] }, { signal: controller.signal });
      for await (const item of stream) {
        // Registry changes of agents and tools only: a plain service's heartbeat says nothing about agents.
        if (item.type === "dropped" || item.event.type === "TASK_PROGRESS" || item.event.payload.serviceType === "agent" || item.event.payload.serviceType === "tool") refresh();
      }
    })().catch(() => undefined); // closed on leaving the page, or refused: the periodic re-read still runs
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [client, queries]);
}
