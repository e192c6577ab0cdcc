/**
 * @module agents/kcore/agent-load
 * The load kCore puts on each agent (this instance's running steps), for the scheduler's "under its limit" rule
 * and for `GET /api/agent/status` (the AgentLoad port of agents/ports.ts). The scheduler asks for an agent's count
 * several times per step (each candidate, then the sort): `running(id)` answers from a kept total, not by walking
 * and copying the agent's tasks (with 1,000 tasks on 8 agents that walk was ~125 entries per question).
 */
import type { AgentLoad } from "../ports.js";

interface Load {
  /** Steps running, all tasks together. */
  total: number;
  /** taskId → its steps running on the agent. */
  tasks: Map<string, number>;
}

export class LoadTracker implements AgentLoad {
  private readonly loads = new Map<string, Load>();

  of(agentId: string): { running: number; tasks: string[] } {
    const load = this.loads.get(agentId);
    if (!load) return { running: 0, tasks: [] };
    return { running: load.total, tasks: [...load.tasks.keys()] };
  }

  /** Steps running on `agentId` now (what `of(agentId).running` says, without listing the tasks). */
  running(agentId: string): number {
    return this.loads.get(agentId)?.total ?? 0;
  }

  /** Counts one step of `taskId` on `agentId`; the returned function releases it (once). */
  add(agentId: string, taskId: string): () => void {
    let load = this.loads.get(agentId);
    if (!load) this.loads.set(agentId, (load = { total: 0, tasks: new Map<string, number>() }));
    const counted = load;
    counted.total += 1;
    counted.tasks.set(taskId, (counted.tasks.get(taskId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      counted.total -= 1;
      const left = (counted.tasks.get(taskId) ?? 1) - 1;
      if (left > 0) counted.tasks.set(taskId, left);
      else counted.tasks.delete(taskId);
      if (counted.tasks.size === 0 && this.loads.get(agentId) === counted) this.loads.delete(agentId);
    };
  }
}
