/**
 * @module schemas/agents-a2a-rest
 * The error body of the node's A2A HTTP+JSON (REST) binding (issue 16, `/a2a/rest/...`): A2A v1.0 answers a failed
 * HTTP+JSON call with an AIP-193 body, a `google.rpc.Status` whose `code` is the HTTP status and whose
 * `google.rpc.ErrorInfo` detail names the A2A error by `reason` (e.g. `TASK_NOT_FOUND`) in the domain `a2a-protocol.org`.
 * Official A2A clients read the reason back into their error classes. Errors before the binding (no or a bad token,
 * too many requests) keep the node's own ErrorBody, as on every route.
 */
import { z } from "zod";

export const A2aRestErrorInfoSchema = z.looseObject({
  "@type": z.string(),
  reason: z.string().optional(),
  domain: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const A2aRestErrorBodySchema = z.object({
  error: z.object({
    /** The HTTP status of the answer. */
    code: z.int(),
    /** The google.rpc.Code name (NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, …). */
    status: z.string(),
    message: z.string(),
    details: z.array(A2aRestErrorInfoSchema),
  }),
});
export type A2aRestErrorBody = z.infer<typeof A2aRestErrorBodySchema>;
