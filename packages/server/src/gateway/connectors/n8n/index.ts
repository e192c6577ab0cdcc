/**
 * @module gateway/connectors/n8n
 * n8n for `workflow_orchestration`. A workflow runs through its Webhook trigger — `POST {baseUrl}/webhook/{path}`
 * (or `/webhook-test/{path}` while the editor listens) — which is the only way n8n lets an outside caller start
 * a workflow and get its answer. Workflows are listed through the public API (`GET /api/v1/workflows`,
 * paginated by cursor) with the `X-N8N-API-KEY` header. Health is `GET /healthz`.
 *
 * The API key is deliberately NOT sent to webhooks: a workflow sees every header of its trigger request, so
 * forwarding the key would hand an admin credential to whatever the workflow does with its input. Webhook
 * auth (header or basic auth configured on the Webhook node) comes from the service record's extra headers.
 *
 * Running a workflow is not idempotent (it may send mail, write rows…); see `UNSAFE_TO_RETRY` in router/operations.ts.
 */
import { parseJson, WorkflowRunRequestSchema, type WorkflowSummary } from "@kai/protocol";
import type { CallContext, Connector } from "../../connector.js";
import { ApiError } from "../../../errors.js";
import { callBytes, callJson, probeHealth } from "../../upstream/upstream-http.js";
import type { UpstreamRequest } from "../../upstream/upstream-request.js";
import { headerAuth, parseInput, refined } from "../support.js";
import { N8nWorkflowPageSchema } from "./wire.js";

const PROVIDER = "n8n";
/** The public API's largest page; a cap on pages keeps a runaway cursor from looping forever. */
const PAGE_SIZE = 250;
const MAX_PAGES = 40;

function apiRequest(path: string, context: CallContext, query?: Record<string, string>): UpstreamRequest {
  return { provider: PROVIDER, method: "GET", path, query, context, authHeaders: headerAuth("X-N8N-API-KEY", context.target) };
}

/** GET webhooks take their input as query parameters: only flat scalar values can travel that way. */
function queryOf(input: unknown): Record<string, string> | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "object" || Array.isArray(input)) throw new ApiError("validation_failed", "input of a GET workflow run must be an object of scalar values");
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) {
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw new ApiError("validation_failed", `input.${key} of a GET workflow run must be a string, number or boolean`);
    }
    query[key] = String(value);
  }
  return query;
}

/** A webhook answer as the neutral output: JSON when it says so, text otherwise (n8n's "Respond to Webhook" can send either). */
function outputOf(bytes: Uint8Array, contentType: string): unknown {
  const text = new TextDecoder().decode(bytes);
  if (/\bjson\b/i.test(contentType)) {
    const parsed = parseJson(text);
    if (parsed.ok) return parsed.value;
  }
  return text;
}

export const n8nConnector: Connector = {
  id: "n8n",
  displayName: PROVIDER,
  operations: new Set(["workflow_run", "workflows", "models"]),
  // The vector and workflow requests are the operations' inputs (collection, points, filter, k, workflow): no tuning parameters.
  parameters: {},
  runWorkflow: (input, context) =>
    refined(async () => {
      const run = parseInput(WorkflowRunRequestSchema, input);
      const path = `/${run.test ? "webhook-test" : "webhook"}/${run.workflow.replace(/^\/+/, "")}`;
      const request: UpstreamRequest = {
        provider: PROVIDER,
        method: run.method,
        path,
        context,
        authHeaders: {},
        ...(run.method === "GET" ? { query: queryOf(run.input) } : { body: run.input ?? {} }),
      };
      const { bytes, contentType, status, latencyMs } = await callBytes(request);
      return { data: { status, ...(contentType ? { contentType } : {}), output: outputOf(bytes, contentType) }, latencyMs };
    }),
  listWorkflows: (context) =>
    refined(async () => {
      const started = performance.now();
      const workflows: WorkflowSummary[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const query: Record<string, string> = { limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) };
        const { data } = await callJson(apiRequest("/api/v1/workflows", context, query), N8nWorkflowPageSchema);
        for (const item of data.data) {
          workflows.push({
            id: item.id,
            name: item.name,
            active: item.active,
            ...(item.tags ? { tags: item.tags.map((tag) => tag.name) } : {}),
            ...(item.createdAt ? { createdAt: item.createdAt } : {}),
            ...(item.updatedAt ? { updatedAt: item.updatedAt } : {}),
          });
        }
        if (!data.nextCursor) break;
        cursor = data.nextCursor;
      }
      return { data: { workflows }, latencyMs: performance.now() - started };
    }),
  // n8n serves no models; workflows are listed by `listWorkflows`.
  listModels: async () => [],
  health: (context) => probeHealth({ provider: PROVIDER, method: "GET", path: "/healthz", context, authHeaders: {} }),
};
