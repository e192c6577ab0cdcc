/**
 * @module agents/kcore/dispatch/gateway-dispatcher
 * A step run as a gateway capability call: the step's input is the operation's request (a chat request for
 * `llm_chat`, an embeddings request for `embeddings`, …), routed through the node's own gateway as the task's
 * owner, so the owner's token decides which services may serve it and the gateway's strategies, retries and
 * failover apply. Only capabilities that map to a JSON operation are offered (transcription needs a file upload).
 */
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  EmbeddingRequestSchema,
  ImageGenerationRequestSchema,
  VectorQueryRequestSchema,
  WorkflowRunRequestSchema,
} from "@kai/protocol";
import type { z } from "zod";
import type { GatewayPort } from "../../../http/front-doors/gateway-port.js";
import { CAPABILITY_OPERATION, type RouteOperation } from "../../../gateway/router/operations.js";
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";

const REQUEST_SCHEMAS: Partial<Record<RouteOperation, z.ZodType>> = {
  chat: ChatCompletionRequestSchema,
  completions: CompletionRequestSchema,
  embeddings: EmbeddingRequestSchema,
  images: ImageGenerationRequestSchema,
  vector_query: VectorQueryRequestSchema,
  workflow_run: WorkflowRunRequestSchema,
};

/** The gateway operation a step of `capability` runs as, or undefined when the gateway cannot serve it. */
export function gatewayOperationOf(capability: string): RouteOperation | undefined {
  const operation = CAPABILITY_OPERATION[capability];
  return operation !== undefined && REQUEST_SCHEMAS[operation] !== undefined ? operation : undefined;
}

export function createGatewayDispatcher(gateway: GatewayPort): StepDispatcher {
  return {
    async dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      const operation = gatewayOperationOf(request.capability);
      if (assignee.kind !== "gateway" || operation === undefined) throw new DispatchError("no_assignee", `the gateway cannot serve ${request.capability}`);
      const parsed = REQUEST_SCHEMAS[operation]!.safeParse(request.input);
      if (!parsed.success) {
        const problem = parsed.error.issues[0];
        throw new DispatchError("step_input_invalid", `the input is not a ${operation} request: ${problem ? `${problem.path.join(".") || "(input)"} ${problem.message}` : "invalid"}`);
      }
      try {
        const result = await gateway.route(operation, parsed.data as never, { principal: request.principal, signal: request.signal, capability: request.capability });
        return { kind: "output", output: result.data, assignee: result.serviceId };
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        const code = (error as { code?: unknown }).code;
        throw new DispatchError(typeof code === "string" ? code : "gateway_error", error instanceof Error ? error.message.slice(0, 300) : "the gateway call failed");
      }
    },
  };
}
