/**
 * @module agents/kcore/dispatch/dispatchers
 * The switch from an assignee's transport to its dispatcher. This session: `http` agents and the gateway; the
 * `klp`, `a2a` and `mcp` transports get their dispatchers next session (an agent of one of those is not chosen
 * until then: `supports` says no, so discovery passes it over instead of failing the step).
 */
import type { AgentTransport } from "@kai/protocol";
import type { GatewayPort } from "../../../http/front-doors/gateway-port.js";
import type { Assignee } from "../assignment.js";
import { createGatewayDispatcher } from "./gateway-dispatcher.js";
import { createHttpDispatcher } from "./http-dispatcher.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher, type StepResume } from "./step-dispatcher.js";

export interface Dispatchers extends StepDispatcher {
  supports(transport: AgentTransport): boolean;
  /** Hands a waiting step's handle back to the dispatcher that made it (by its `transport`); unknown: nothing to do. */
  abandon(resume: StepResume): Promise<void>;
}

export function createDispatchers(gateway: GatewayPort, extra: Partial<Record<AgentTransport, StepDispatcher>> = {}): Dispatchers {
  const byTransport: Partial<Record<AgentTransport, StepDispatcher>> = { http: createHttpDispatcher(), ...extra };
  const viaGateway = createGatewayDispatcher(gateway);
  return {
    supports: (transport) => byTransport[transport] !== undefined,
    abandon: async (resume) => {
      const dispatcher = Object.hasOwn(byTransport, resume.transport) ? byTransport[resume.transport as AgentTransport] : undefined;
      await dispatcher?.abandon?.(resume);
    },
    dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      if (assignee.kind === "gateway") return viaGateway.dispatch(assignee, request);
      const dispatcher = byTransport[assignee.transport];
      if (!dispatcher) return Promise.reject(new DispatchError("transport_unsupported", `the ${assignee.transport} transport is not available yet`));
      return dispatcher.dispatch(assignee, request);
    },
  };
}
