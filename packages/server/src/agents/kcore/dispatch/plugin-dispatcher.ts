/**
 * @module agents/kcore/dispatch/plugin-dispatcher
 * The `plugin` transport: a step on a plugin's record (`plugin:<id>`, plugins/runtime/plugin-runtime.ts) is a call of
 * the step's capability on that plugin's process on this instance, the step's input checked against the manifest's
 * input schema. A plugin not running here (disabled, restarting, another instance's disk) is `agent_unreachable`,
 * so the step is reassigned; the plugin's own failure is `agent_error`. The runtime's port keeps kCore from
 * depending on the plugins' parts.
 */
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";

/** What the dispatcher needs of the plugin runtime. */
export interface PluginInvokePort {
  invoke(capability: string, input: unknown, options: { pluginId?: string; timeoutMs?: number }): Promise<{ pluginId: string; output: unknown }>;
}

const RECORD_PREFIX = "plugin:";
const MAX_MESSAGE = 500;

export function createPluginDispatcher(plugins: () => PluginInvokePort | undefined): StepDispatcher {
  return {
    async dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      const runtime = plugins();
      if (assignee.kind !== "agent" || !assignee.id.startsWith(RECORD_PREFIX) || !runtime) throw new DispatchError("agent_unreachable", `${assignee.id} is not a plugin this node runs`);
      const pluginId = assignee.id.slice(RECORD_PREFIX.length);
      // The plugin process has no cancel message: an aborted step stops waiting; the call ends at its own timeout.
      const aborted = new Promise<never>((_resolve, reject) => {
        if (request.signal.aborted) reject(request.signal.reason);
        request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
      });
      try {
        const { output } = await Promise.race([runtime.invoke(request.capability, request.input, { pluginId, ...(assignee.stepTimeoutMs ? { timeoutMs: assignee.stepTimeoutMs } : {}) }), aborted]);
        return { kind: "output", output, assignee: assignee.id };
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        const code = (error as { code?: unknown }).code;
        const message = error instanceof Error ? error.message.slice(0, MAX_MESSAGE) : "the plugin did not answer";
        if (code === "plugin_unavailable") throw new DispatchError("agent_unreachable", message);
        if (code === "plugin_input_invalid") throw new DispatchError("step_input_invalid", message);
        throw new DispatchError("agent_error", message);
      }
    },
  };
}
