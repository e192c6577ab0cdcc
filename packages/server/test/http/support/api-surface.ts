/**
 * @module test/http/support/api-surface
 * What the cross-cutting HTTP tests need to know about the server's surface, read from the server itself:
 * the route list of its own `/openapi.json` (so that a route added later is walked automatically), the
 * public routes that need no token, and a check that a response body leaks no stack trace.
 */
import { z } from "zod";
import type { TestServer } from "../../helpers/test-server.js";

/** The slice of an OpenAPI 3.1 document these tests read. */
export const OpenApiDocSchema = z.looseObject({
  openapi: z.string(),
  paths: z.record(
    z.string(),
    z.record(
      z.string(),
      z.looseObject({
        security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
        parameters: z.array(z.looseObject({ in: z.string(), name: z.string() })).optional(),
        requestBody: z.unknown().optional(),
        responses: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
  ),
  components: z.looseObject({ securitySchemes: z.record(z.string(), z.looseObject({ type: z.string(), scheme: z.string().optional() })).optional() }).optional(),
});
export type OpenApiDoc = z.infer<typeof OpenApiDocSchema>;

export interface ApiRoute {
  /** Upper-case HTTP method. */
  method: string;
  /** OpenAPI path template, e.g. `/api/services/{id}`. */
  path: string;
  /** `METHOD /path` — the key of the tests' per-route tables. */
  key: string;
  hasBody: boolean;
  queryParams: string[];
  pathParams: string[];
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/**
 * KLP reads anyone may make (issue 5): the node document and discovery/verification of `public` records.
 * They take no token by design; their answers are signed by the node (test/klp/ checks them).
 */
export const KLP_PUBLIC_PATHS: readonly string[] = ["/.well-known/klp.json", "/klp/discover", "/klp/verify"];

/** The node's A2A agent card (issue 16): A2A clients read it before they hold a token; it lists public records' capabilities only. */
export const A2A_PUBLIC_PATHS: readonly string[] = ["/.well-known/agent-card.json"];

/**
 * Routes authenticated by KLP signatures instead of bearer tokens (issue 5): the request is a signed
 * envelope (or, on the WebSocket, a handshake proving the peer's key) that must pass the acceptance rules —
 * signature, clock window, replay memory, grants. They sit outside the bearer-protected scope on purpose,
 * so the bearer walks leave them out; the route-security test checks that a token changes nothing there
 * and test/klp/ checks each refusal (unsigned, badly signed, replayed, stale) with its KLP code and status.
 * A route is added here only with that kind of authentication and those tests.
 */
export const SIGNATURE_AUTHENTICATED_ROUTES: readonly string[] = ["POST /klp/message", "POST /klp/register", "GET /klp"];

export function isSignatureAuthenticatedPath(path: string): boolean {
  return SIGNATURE_AUTHENTICATED_ROUTES.some((key) => key.slice(key.indexOf(" ") + 1) === path);
}

/**
 * The sign-in scope (issue 14): routes of callers who have no token yet (they sign in, refresh or sign out with what
 * they hold). Each is guarded by the `auth` rate-limit tier and, for sign-in, the login throttle; test/auth/ checks them.
 */
export const SIGN_IN_PUBLIC_PATHS: readonly string[] = ["/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/challenge", "/api/auth/passkey/options", "/api/auth/passkey/login",
  // Single sign-on (auth/sso/, test/auth/sso-sign-in.test.ts): providers, start, the provider's redirect back, the CLI's exchange.
  "/api/auth/sso/providers", "/api/auth/sso/{provider}/start", "/api/auth/sso/{provider}/callback", "/api/auth/sso/exchange"];

/** Artifact share links (issue 17): a signed, expiring, revocable token in the path is their authentication (test/artifacts/). */
export const SHARE_LINK_PATHS: readonly string[] = ["/s/{token}"];

/** Routes documented as public: they are the only ones that answer without a token (`/readyz`: a load balancer's probe). */
export function isPublicPath(path: string): boolean {
  return SHARE_LINK_PATHS.includes(path) || path === "/" || path === "/healthz" || path === "/readyz" || path === "/openapi.json" || path === "/docs" || path.startsWith("/docs/") || KLP_PUBLIC_PATHS.includes(path) || A2A_PUBLIC_PATHS.includes(path) || SIGN_IN_PUBLIC_PATHS.includes(path);
}

export async function fetchOpenApi(server: TestServer): Promise<OpenApiDoc> {
  const response = await fetch(`${server.url}/openapi.json`);
  if (response.status !== 200) throw new Error(`/openapi.json answered ${response.status}`);
  return OpenApiDocSchema.parse(await response.json());
}

export function routesOf(doc: OpenApiDoc): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!HTTP_METHODS.has(method)) continue;
      const parameters = operation.parameters ?? [];
      routes.push({
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        hasBody: operation.requestBody !== undefined,
        queryParams: parameters.filter((p) => p.in === "query").map((p) => p.name),
        pathParams: parameters.filter((p) => p.in === "path").map((p) => p.name),
      });
    }
  }
  return routes.sort((a, b) => a.key.localeCompare(b.key));
}

/** The bearer-protected routes of the server, from its own OpenAPI document. */
export async function protectedRoutes(server: TestServer): Promise<ApiRoute[]> {
  return routesOf(await fetchOpenApi(server)).filter((route) => !isPublicPath(route.path) && !isSignatureAuthenticatedPath(route.path));
}

/** Fills `{param}` placeholders; the value is used verbatim (encode it first if it needs encoding). */
export function fillPath(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

/**
 * True when the text looks like it carries a stack trace or source locations: an `at …` frame, a file
 * position (`x.ts:12`, `x.js:3:7`) or a `node_modules` path.
 */
export function leaksStackTrace(text: string): boolean {
  return /\n\s+at\s|\bat\s+\S+\s+\(|node_modules|\.(?:[cm]?[jt]s):\d+|\bfile:\/\//.test(text);
}
