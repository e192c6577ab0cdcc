/**
 * @module agents/kcore/agent-load
 * The load kCore puts on each agent (this instance's running steps), for the scheduler's "under its limit" rule
 * and for `GET /api/agent/status` (the AgentLoad port of agents/ports.ts).
 */
import type { AgentLoad } from "../ports.js";

export class LoadTracker implements AgentLoad {
  private readonly running = new Map<string, Map<string, number>>();

  of(agentId: string): { running: number; tasks: string[] } {
    const tasks = this.running.get(agentId);
    if (!tasks) return { running: 0, tasks: [] };
    let count = 0;
    for (const steps of tasks.values()) count += steps;
    return { running: count, tasks: [...tasks.keys()] };
  }

  /** Counts one step of `taskId` on `agentId`; the returned function releases it (once). */
  add(agentId: string, taskId: string): () => void {
    const tasks = this.running.get(agentId) ?? new Map<string, number>();
    this.running.set(agentId, tasks);
    tasks.set(taskId, (tasks.get(taskId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (tasks.get(taskId) ?? 1) - 1;
      if (left > 0) tasks.set(taskId, left);
      else tasks.delete(taskId);
      if (tasks.size === 0) this.running.delete(agentId);
    };
  }
}
