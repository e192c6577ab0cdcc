/**
 * @module test/gateway/fakes/n8n-fake
 * A fake n8n: the public API `GET /api/v1/workflows` (cursor-paginated, `X-N8N-API-KEY`, `{message}` errors),
 * production and test webhooks (`/webhook/{path}`, `/webhook-test/{path}`) answering JSON or text the way a
 * "Respond to Webhook" node does, n8n's 404 for an unregistered webhook and 500 "Error in workflow", and
 * `GET /healthz`. Every webhook call is recorded with its headers, so a test can prove the API key was not sent.
 */
import type { ServerResponse } from "node:http";
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const N8N_WORKFLOWS = [
  { id: "wf1", name: "Greeter", active: true, createdAt: "2025-05-01T10:00:00.000Z", updatedAt: "2025-05-02T10:00:00.000Z", tags: [{ id: "t1", name: "demo" }], nodes: [], connections: {}, settings: {} },
  { id: "wf2", name: "Echo", active: true, createdAt: "2025-05-01T11:00:00.000Z", updatedAt: "2025-05-01T11:00:00.000Z", tags: [], nodes: [], connections: {}, settings: {} },
  { id: "wf3", name: "Draft", active: false, createdAt: "2025-05-03T09:00:00.000Z", updatedAt: "2025-05-03T09:00:00.000Z", nodes: [], connections: {}, settings: {} },
];

export interface N8nFakeOptions {
  requireKey?: string;
  /** Largest page the fake serves, to force pagination (n8n's own cap is 250). */
  maxPage?: number;
}

export function n8nWire(options: N8nFakeOptions = {}): ProviderWire {
  return {
    errorBody: (status, message) => ({ code: status, message }),
    streamErrorFrame: () => "",
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      const body = request.body as Record<string, unknown> | undefined;
      if (request.path === "/healthz") return fake.sendJson(res, 200, { status: "ok" });
      if (request.path.startsWith("/api/v1/")) {
        const key = request.headers["x-n8n-api-key"];
        if (key === undefined) return fake.sendJson(res, 401, { message: "'X-N8N-API-KEY' header required" });
        if (options.requireKey && key !== options.requireKey) return fake.sendJson(res, 401, { message: `unauthorized key ${String(key)}` });
        if (request.method === "GET" && request.path === "/api/v1/workflows") {
          const limit = Math.min(Number(request.query.get("limit") ?? 100), options.maxPage ?? 250);
          const offset = Number(Buffer.from(request.query.get("cursor") ?? "", "base64").toString() || 0);
          const page = N8N_WORKFLOWS.slice(offset, offset + limit);
          const next = offset + limit < N8N_WORKFLOWS.length ? Buffer.from(String(offset + limit)).toString("base64") : null;
          return fake.sendJson(res, 200, { data: page, nextCursor: next });
        }
        return fake.sendJson(res, 404, { message: "not found" });
      }
      const hook = /^\/(webhook|webhook-test)\/(.+)$/.exec(request.path);
      if (!hook) return fake.sendJson(res, 404, { code: 404, message: "Cannot find route" });
      const [, kind, path] = hook;
      switch (`${request.method} ${kind} ${path}`) {
        case "POST webhook greet":
        case "POST webhook-test greet":
          return fake.sendJson(res, 200, { greeting: `hello ${String(body?.name)}`, test: kind === "webhook-test" });
        case "GET webhook team/echo":
          return fake.sendJson(res, 200, Object.fromEntries(request.query));
        case "POST webhook notify":
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
          res.end("Workflow was started");
          return;
        case "POST webhook broken":
          return fake.sendJson(res, 500, { code: 0, message: "Error in workflow" });
        default:
          return fake.sendJson(res, 404, { code: 404, message: `The requested webhook "${request.method} ${path}" is not registered.`, hint: "The workflow must be active for a production URL to run successfully." });
      }
    },
  };
}

export const startN8nFake = (options: N8nFakeOptions = {}) => new FakeUpstream(n8nWire(options)).start();
