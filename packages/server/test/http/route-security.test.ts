// The security walk: every protected route of the server — read from its own /openapi.json, so that a route
// added later is walked too — answers 401 without a token and with a malformed, foreign-signed, expired,
// unsigned or revoked token, and 403 with a valid token that lacks the route's scope. The scope table below
// must name every route: a new route without an entry fails this test until someone decides its scope.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from "jose";
import WebSocket from "ws";
import { ErrorBodySchema, type Scope } from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { klp, signAgentManifest } from "@kai/protocol";
import { fetchOpenApi, fillPath, protectedRoutes, routesOf, SIGNATURE_AUTHENTICATED_ROUTES, type ApiRoute } from "./support/api-surface.js";

type Need = "read" | "write" | "heartbeat" | "admin" | "any" | "vault-read" | "vault-write" | "vault-admin" | "metrics" | "gateway" | "federation" | "agents-read" | "agents-write" | "tasks-run"
  | "prompts-read" | "prompts-write" | "artifacts-read" | "artifacts-write" | "memory-read" | "memory-write"
  | "config-admin"
  | "plugins-admin"
  | "backup-admin";

interface RouteRule {
  need: Need;
  /** A valid-looking body, so that only authentication and authorisation can stop the request. */
  body?: () => unknown;
  /** Puts back what a successful call changed that later calls depend on (a locked vault). */
  after?: () => Promise<void>;
}

/** The key the walk's agent manifests are signed with (one key: the id stays bound to it across calls). */
const WALK_AGENT_KEY = klp.generateKeyPair();

/** The walk's vault passphrase: set in beforeAll, so that a walked `lock` can be undone with `unlock`. */
const WALK_PASSPHRASE = "walk the routes with this passphrase";
/** Well-formed (not decryptable) transit ciphertext: the vault, not validation, must answer. */
const WALK_CIPHERTEXT = "kai:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

async function unlockWalkVault(): Promise<void> {
  const response = await server.request("/api/vault/unlock", { method: "POST", json: { passphrase: WALK_PASSPHRASE } });
  expect(response.status, await response.text()).toBeLessThan(500);
}

/** The scope each route requires. Every protected route must be here (asserted below). */
const SCOPE_TABLE: Record<string, RouteRule> = {
  "GET /api/status": { need: "any" },
  "GET /api/cluster": { need: "admin" },
  "GET /api/doctor": { need: "admin" },
  "GET /api/logs/search": { need: "admin" },
  "GET /api/services": { need: "read" },
  "GET /api/services/{id}": { need: "read" },
  "POST /api/services/register": { need: "write", body: () => registration() },
  "POST /api/services/bulk": { need: "write", body: () => ({ services: [registration({ id: "walk-bulk-1" }), registration({ id: "walk-bulk-2" })] }) },
  "POST /api/services/bulk-delete": { need: "write", body: () => ({ ids: ["walk-bulk-1", "walk-bulk-2"] }) },
  "PATCH /api/services/{id}": { need: "write", body: () => ({ description: "patched by the security walk" }) },
  "DELETE /api/services/{id}": { need: "write" },
  "POST /api/services/{id}/heartbeat": { need: "heartbeat", body: () => ({ status: "active" }) },
  "POST /api/tokens": { need: "admin", body: () => ({ scopes: ["services:read"], owner: "walker", ttl: "1h" }) },
  "GET /api/tokens": { need: "admin" },
  "DELETE /api/tokens/{id}": { need: "admin" },
  // The vault authorises inside (so that denials are audited): the route lets any valid token through and
  // the vault answers 403 forbidden for a missing scope.
  "GET /api/vault/status": { need: "any" },
  "POST /api/vault/init": { need: "vault-admin", body: () => ({}) },
  "POST /api/vault/unlock": { need: "vault-admin", body: () => ({ passphrase: WALK_PASSPHRASE }) },
  "POST /api/vault/lock": { need: "vault-admin", after: unlockWalkVault },
  "POST /api/vault/rekey": { need: "vault-admin", body: () => ({ newPassphrase: WALK_PASSPHRASE }) },
  "POST /api/vault/rotate": { need: "vault-admin" },
  "GET /api/vault/secrets": { need: "vault-read" },
  "GET /api/vault/secrets/{*}": { need: "vault-read" },
  "PUT /api/vault/secrets/{*}": { need: "vault-write", body: () => ({ value: "walked" }) },
  "DELETE /api/vault/secrets/{*}": { need: "vault-write" },
  "GET /api/vault/audit": { need: "admin" },
  "GET /api/vault/audit/verify": { need: "admin" },
  "POST /vault/encrypt": { need: "vault-write", body: () => ({ plaintext: "walked" }) },
  "POST /vault/decrypt": { need: "vault-read", body: () => ({ ciphertext: WALK_CIPHERTEXT }) },
  "POST /vault/rewrap": { need: "vault-write", body: () => ({ ciphertext: WALK_CIPHERTEXT }) },
  "GET /metrics": { need: "metrics" },
  // The live log (issue 15): recent lines and their stream (the stream is ended when the node closes).
  "GET /api/logs": { need: "admin" },
  "GET /api/logs/stream": { need: "admin" },
  // What the node measured, as JSON (issue 15, the web app): node-wide like /metrics; one service like reading it.
  "GET /api/metrics/summary": { need: "metrics" },
  "GET /api/services/{id}/activity": { need: "read" },
  "POST /api/klp/grants": { need: "admin", body: () => ({ for: "kind:did:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo#ed25519" }) },
  "POST /api/services/{id}/check": { need: "read" },
  "POST /v1/chat/completions": { need: "gateway", body: () => ({ model: "walk-model", messages: [{ role: "user", content: "hi" }] }) },
  "POST /v1/completions": { need: "gateway", body: () => ({ model: "walk-model", prompt: "hi" }) },
  "POST /v1/embeddings": { need: "gateway", body: () => ({ model: "walk-model", input: "hi" }) },
  "POST /v1/images/generations": { need: "gateway", body: () => ({ prompt: "a walk" }) },
  "POST /v1/audio/transcriptions": { need: "gateway" },
  "GET /v1/models": { need: "gateway" },
  "GET /v1/models/{model}": { need: "gateway" },
  "GET /api/connectors": { need: "gateway" },
  "POST /api/route/{capability}": { need: "gateway", body: () => ({ request: { model: "walk-model", messages: [{ role: "user", content: "hi" }] } }) },
  "GET /api/peers": { need: "federation" },
  "GET /api/peers/discovered": { need: "federation" },
  // This node's own URL: a real node document, refused as "this node itself" (400) once past auth.
  "POST /api/peers": { need: "federation", body: () => ({ url: server.url }) },
  "POST /api/peers/sync": { need: "federation" },
  "GET /api/peers/{did}": { need: "federation" },
  "PATCH /api/peers/{did}": { need: "federation", body: () => ({ trusted: false }) },
  "DELETE /api/peers/{did}": { need: "federation" },
  // Sign-in (issue 14). The caller's own user and sessions: any valid token; a token with no user behind it (an API
  // token minted by an admin) finds no "me" there (404).
  "GET /api/auth/validate": { need: "any" },
  "GET /api/auth/sessions": { need: "any" },
  "DELETE /api/auth/sessions/{id}": { need: "any" },
  "GET /api/security/events": { need: "admin" },
  "GET /api/users": { need: "admin" },
  "POST /api/users": { need: "admin", body: () => ({ username: `walker-${Math.random().toString(36).slice(2, 10)}`, password: "a walk of twelve characters" }) },
  "GET /api/users/{id}": { need: "admin" },
  "PATCH /api/users/{id}": { need: "admin", body: () => ({ displayName: "walked" }) },
  "DELETE /api/users/{id}": { need: "admin" },
  "GET /api/users/{id}/sessions": { need: "admin" },
  "GET /api/users/me": { need: "any" },
  "PATCH /api/users/me": { need: "any", body: () => ({ displayName: "walked" }) },
  "POST /api/users/me/password": { need: "any", body: () => ({ currentPassword: "not the password", newPassword: "a walk of twelve characters" }) },
  "POST /api/users/me/tokens": { need: "any", body: () => ({ scopes: ["services:read"] }) },
  "GET /api/users/me/tokens": { need: "any" },
  "DELETE /api/users/me/tokens/{id}": { need: "any" },
  "GET /api/roles": { need: "any" },
  "PUT /api/roles/{name}": { need: "admin", body: () => ({ scopes: ["services:read"] }) },
  "DELETE /api/roles/{name}": { need: "admin" },
  // Second factors (issue 14): the caller's own (any valid token; none behind a non-user token: 404), the admin reset.
  "GET /api/users/me/mfa": { need: "any" },
  "POST /api/users/me/mfa/totp": { need: "any", body: () => ({}) },
  "POST /api/users/me/mfa/totp/confirm": { need: "any", body: () => ({ code: "123456" }) },
  "DELETE /api/users/me/mfa/totp": { need: "any", body: () => ({ proof: { code: "123456" } }) },
  "POST /api/users/me/mfa/recovery-codes": { need: "any", body: () => ({ proof: { code: "123456" } }) },
  "POST /api/users/me/passkeys/options": { need: "any", body: () => ({}) },
  "POST /api/users/me/passkeys": { need: "any", body: () => ({ challengeId: "walk", response: {} }) },
  "GET /api/users/me/passkeys": { need: "any" },
  "DELETE /api/users/me/passkeys/{id}": { need: "any", body: () => ({ proof: { code: "123456" } }) },
  "DELETE /api/users/{id}/mfa": { need: "admin" },
  // The effective configuration, secrets redacted (issue 15).
  "GET /api/config": { need: "config-admin" },
  // Configuration layers (issue 18): explain a key, change the runtime layer (the walk sets the level the node already has).
  "GET /api/config/explain": { need: "config-admin" },
  "PATCH /api/config": { need: "config-admin", body: () => ({ settings: { "logging.level": "info" } }) },
  // Plugins (issue 18): the plugin folders' listing, one plugin (the walk's node has none: 404 past auth), a rescan.
  "GET /api/plugins": { need: "plugins-admin" },
  "GET /api/plugins/{id}": { need: "plugins-admin" },
  "POST /api/plugins/rescan": { need: "plugins-admin" },
  // Plugin runtime (issue 18): enable and disable node-wide (the walk's node has no such plugin: 404 past auth).
  "POST /api/plugins/{id}/enable": { need: "plugins-admin" },
  "POST /api/plugins/{id}/disable": { need: "plugins-admin" },
  // Plugin lifecycle (issue 18): walk-target is no installed plugin (404 past auth); an empty install body is 400 past auth.
  "POST /api/plugins/install": { need: "plugins-admin" },
  "DELETE /api/plugins/{id}": { need: "plugins-admin" },
  "GET /api/plugins/{id}/history": { need: "plugins-admin" },
  "POST /api/plugins/{id}/rollback": { need: "plugins-admin", body: () => ({}) },
  // Backups (issue 19): past auth the walk node has no backup.passphrase (400), and "walk-target" is no backup id (400).
  "POST /api/backups": { need: "backup-admin", body: () => ({}) },
  "GET /api/backups": { need: "backup-admin" },
  "POST /api/backups/{id}/verify": { need: "backup-admin", body: () => ({}) },
  "GET /api/backups/{id}/download": { need: "backup-admin" },
  "DELETE /api/backups/{id}": { need: "backup-admin" },
  "POST /api/plugins/{id}/update": { need: "plugins-admin", body: () => ({ manifest: {} }) },
  // Plugin UIs (issue 18): whoever may call plugins sees their pages (the walk's node has none: 404 past auth).
  "GET /api/plugin-uis": { need: "gateway" },
  "GET /api/plugins/{id}/ui": { need: "gateway" },
  "GET /api/plugins/{id}/ui/page": { need: "gateway" },
  "GET /api/plugins/{id}/ui/icon": { need: "gateway" },
  // The agent mesh (issue 16): agents by signed manifest, their status.
  "POST /api/agents": { need: "agents-write", body: () => signAgentManifest({ id: "kWalk:agent", name: "walked", skills: [{ id: "w", name: "w", capability: "llm_chat" }], endpoint: { transport: "http", url: "http://127.0.0.1:9/" } }, WALK_AGENT_KEY) },
  "GET /api/agents": { need: "agents-read" },
  "GET /api/agents/{id}": { need: "agents-read" },
  "DELETE /api/agents/{id}": { need: "agents-write" },
  "GET /api/agent/status": { need: "agents-read" },
  // External A2A agents by URL: the walk's URL is a closed port, so past auth the card is honestly unreadable (502, below).
  "POST /api/agents/a2a": { need: "agents-write", body: () => ({ url: "http://127.0.0.1:9/" }) },
  // MCP tool servers by URL: the walk's URL is a closed port, so past auth the server is honestly unreachable (502, below).
  "POST /api/agents/mcp": { need: "agents-write", body: () => ({ id: "walk", url: "http://127.0.0.1:9/mcp" }) },
  "DELETE /api/agents/mcp/{id}": { need: "agents-write" },
  // Agents the node runs itself (agents/runtime/): start/stop by agents:write (admin or the spec's owner inside); adding one is admin.
  "GET /api/agents/run": { need: "agents-read" },
  "POST /api/agents/run": { need: "admin", body: () => ({ id: "kWalk:run", command: "/bin/true", autostart: false }) },
  "GET /api/agents/{id}/run": { need: "agents-read" },
  "POST /api/agents/{id}/start": { need: "agents-write" },
  "POST /api/agents/{id}/stop": { need: "agents-write" },
  // kPlanner: the walk's language model is a closed port, so past auth the planner honestly answers 503 (checked below).
  "POST /api/planner/plan": { need: "tasks-run", body: () => ({ goal: "walk the planner" }) },
  // kCore: tasks (a one-step task for a capability nobody offers: stored, then failed with no_assignee).
  "POST /api/agent/task": { need: "tasks-run", body: () => ({ goal: "walk kCore", capability: "walk_nothing" }) },
  "GET /api/agent/task/{id}": { need: "agents-read" },
  "GET /api/agent/tasks": { need: "agents-read" },
  "POST /api/agent/task/{id}/cancel": { need: "tasks-run" },
  "POST /api/agent/task/{id}/answer": { need: "tasks-run", body: () => ({ answer: "walked" }) },
  // The node as an A2A agent: JSON-RPC; past auth an unknown task is a JSON-RPC error (200), never a 5xx.
  "POST /a2a": { need: "tasks-run", body: () => ({ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: "task_walk" } }) },
  // The A2A HTTP+JSON binding beside it (same handler, scope and bucket): past auth, an A2A error (the walk sends no A2A-Version: 400).
  "POST /a2a/rest/message:send": { need: "tasks-run", body: () => ({ message: { messageId: "walk", role: "ROLE_USER", parts: [{ text: "walk" }] } }) },
  "POST /a2a/rest/message:stream": { need: "tasks-run", body: () => ({ message: { messageId: "walk", role: "ROLE_USER", parts: [{ text: "walk" }] } }) },
  "GET /a2a/rest/tasks": { need: "tasks-run" },
  "GET /a2a/rest/tasks/{id}": { need: "tasks-run" },
  "POST /a2a/rest/tasks/{id}": { need: "tasks-run" },
  "POST /a2a/rest/tasks/{id}/pushNotificationConfigs": { need: "tasks-run", body: () => ({ url: "https://example.invalid/walk" }) },
  "GET /a2a/rest/tasks/{id}/pushNotificationConfigs": { need: "tasks-run" },
  "GET /a2a/rest/tasks/{id}/pushNotificationConfigs/{configId}": { need: "tasks-run" },
  "DELETE /a2a/rest/tasks/{id}/pushNotificationConfigs/{configId}": { need: "tasks-run" },
  "GET /a2a/rest/extendedAgentCard": { need: "tasks-run" },
  // The orchestration bus (issue 16): SSE (past auth, a stream the walk leaves unread) and its WebSocket (426 over plain HTTP).
  "GET /api/events": { need: "agents-read" },
  "GET /ws/events": { need: "agents-read" },
  // The WebSocket upgrade; also walked as a real WebSocket by its own test below.
  "GET /ws/registry": { need: "read" },
  // The prompt store (issue 17): "walk-target" is saved by the walk itself (a sufficient token is its owner).
  "GET /api/prompts": { need: "prompts-read" },
  "PUT /api/prompts/{name}": { need: "prompts-write", body: () => ({ template: "walk {{x}}", variables: [{ name: "x" }] }) },
  "GET /api/prompts/{name}": { need: "prompts-read" },
  "GET /api/prompts/{name}/versions": { need: "prompts-read" },
  "GET /api/prompts/{name}/diff": { need: "prompts-read" },
  "POST /api/prompts/{name}/restore": { need: "prompts-write", body: () => ({ version: 1 }) },
  "PUT /api/prompts/{name}/labels/{label}": { need: "prompts-write", body: () => ({ version: 1 }) },
  "DELETE /api/prompts/{name}/labels/{label}": { need: "prompts-write" },
  "POST /api/prompts/{name}/render": { need: "prompts-read", body: () => ({ variables: { x: "walked" } }) },
  "DELETE /api/prompts/{name}": { need: "prompts-write" },
  // Semantic memory (issue 17): past auth, adding embeds through the gateway, and the walk has no embedding service (404 capability_not_found).
  "POST /api/memory": { need: "memory-write", body: () => ({ text: "walked memory" }) },
  "GET /api/memory/search": { need: "memory-read" },
  "GET /api/memory/{id}": { need: "memory-read" },
  "DELETE /api/memory/{id}": { need: "memory-write" },
  "POST /api/memory/delete": { need: "memory-write", body: () => ({ namespace: "walk", all: true }) },
  // Re-embedding (admin): the walk names no model and memory.model is unset, so a start ends in 400 past auth.
  "POST /api/memory/reembed": { need: "admin", body: () => ({}) },
  "GET /api/memory/reembed": { need: "admin" },
  "POST /api/memory/reembed/cancel": { need: "admin" },
  // Artifacts (issue 17): "walk-target" is not an artifact id, so past auth the id routes answer 400; the upload stores the walk's JSON body.
  "POST /api/artifacts": { need: "artifacts-write", body: () => ({ walked: true }) },
  "GET /api/artifacts": { need: "artifacts-read" },
  "GET /api/artifacts/{id}": { need: "artifacts-read" },
  "GET /api/artifacts/{id}/content": { need: "artifacts-read" },
  "GET /api/artifacts/{id}/preview": { need: "artifacts-read" },
  "GET /api/artifacts/{id}/thumbnail": { need: "artifacts-read" },
  "DELETE /api/artifacts/{id}": { need: "artifacts-write" },
  "POST /api/artifacts/{id}/share": { need: "artifacts-write", body: () => ({ ttlSeconds: 60 }) },
  "DELETE /api/artifacts/{id}/shares/{shareId}": { need: "artifacts-write" },
  // The blob store's garbage collection (admin), walked as a dry run: it removes nothing.
  "POST /api/artifacts/gc": { need: "admin", body: () => ({ dryRun: true }) },
};

/** A token that has every scope except what the route needs (for `heartbeat`, write also suffices). */
const INSUFFICIENT: Record<Exclude<Need, "any">, Scope[]> = {
  read: ["services:heartbeat"],
  write: ["services:read", "services:heartbeat"],
  heartbeat: ["services:read"],
  admin: ["services:read", "services:write", "services:heartbeat", "vault:admin"],
  "vault-read": ["services:read", "services:write", "services:heartbeat", "vault:write"],
  "vault-write": ["services:read", "services:write", "services:heartbeat", "vault:read"],
  "vault-admin": ["services:read", "services:write", "services:heartbeat", "vault:read", "vault:write"],
  metrics: ["services:read", "services:write", "services:heartbeat", "vault:admin", "gateway:invoke"],
  gateway: ["services:read", "services:write", "services:heartbeat", "vault:admin", "metrics:read"],
  federation: ["services:read", "services:write", "services:heartbeat", "vault:admin", "metrics:read", "gateway:invoke"],
  "agents-read": ["services:read", "services:write", "services:heartbeat", "agents:write", "tasks:run"],
  "agents-write": ["services:read", "services:write", "services:heartbeat", "agents:read", "tasks:run"],
  "tasks-run": ["services:read", "services:write", "services:heartbeat", "agents:read", "agents:write"],
  // Data services (issue 17): every other data scope, so a route that checked the wrong one is caught.
  "prompts-read": ["services:read", "prompts:write", "artifacts:read", "memory:read"],
  "prompts-write": ["services:read", "prompts:read", "artifacts:write", "memory:write"],
  "artifacts-read": ["services:read", "artifacts:write", "prompts:read", "memory:read"],
  "artifacts-write": ["services:read", "artifacts:read", "prompts:write", "memory:write"],
  "memory-read": ["services:read", "memory:write", "prompts:read", "artifacts:read"],
  "memory-write": ["services:read", "memory:read", "prompts:write", "artifacts:write"],
  "config-admin": ["services:read", "services:write", "vault:admin", "federation:admin", "metrics:read"],
  "plugins-admin": ["services:read", "services:write", "config:admin", "federation:admin", "agents:write"],
  "backup-admin": ["services:read", "services:write", "config:admin", "vault:admin", "plugins:admin"],
};
/** A token with only what the route needs: it must get past authentication and authorisation. */
const SUFFICIENT: Record<Need, Scope[]> = {
  read: ["services:read"],
  write: ["services:write"],
  heartbeat: ["services:heartbeat"],
  admin: ["admin"],
  any: ["services:heartbeat"],
  "vault-read": ["vault:read"],
  "vault-write": ["vault:write"],
  "vault-admin": ["vault:admin"],
  metrics: ["metrics:read"],
  gateway: ["gateway:invoke"],
  federation: ["federation:admin"],
  "agents-read": ["agents:read"],
  "agents-write": ["agents:write"],
  "tasks-run": ["tasks:run"],
  "prompts-read": ["prompts:read"],
  "prompts-write": ["prompts:write"],
  "artifacts-read": ["artifacts:read"],
  "artifacts-write": ["artifacts:write"],
  "memory-read": ["memory:read"],
  "memory-write": ["memory:write"],
  "config-admin": ["config:admin"],
  "plugins-admin": ["plugins:admin"],
  "backup-admin": ["backup:admin"],
};

let server: TestServer;
let routes: ApiRoute[];
const scoped = new Map<string, string>();
const badTokens: Record<string, string> = {};

async function tokenFor(scopes: Scope[]): Promise<string> {
  const key = scopes.join(",");
  let token = scoped.get(key);
  if (!token) {
    // "walker" owns the service the walk targets, so a sufficient token is never stopped by ownership.
    token = await mintToken(server, scopes, "walker");
    scoped.set(key, token);
  }
  return token;
}

async function call(route: ApiRoute, token: string | null): Promise<Response> {
  const rule = SCOPE_TABLE[route.key];
  const path = fillPath(route.path, route.path.startsWith("/api/tokens") ? "00000000-0000-4000-8000-000000000000" : "walk-target");
  const body = rule?.body?.();
  const response = await server.request(path, { method: route.method, token, ...(body !== undefined ? { json: body } : {}) });
  if (response.status < 300) await rule?.after?.();
  return response;
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${response.url} → ${text}`).toBe(status);
  const body = ErrorBodySchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(response.headers.get("x-request-id")).toBeTruthy();
}

beforeAll(async () => {
  // The cheapest KDF the config allows: the walk re-keys and unlocks the vault several times.
  server = await startTestServer({ config: { vault: { pbkdf2Iterations: 10_000 } } });
  routes = await protectedRoutes(server);
  const rekeyed = await server.request("/api/vault/rekey", { method: "POST", json: { newPassphrase: WALK_PASSPHRASE } });
  expect(rekeyed.status, await rekeyed.text()).toBe(200);
  await server.request("/api/services/register", { method: "POST", json: registration({ id: "walk-target", owner: "walker" }) });

  const admin = decodeJwt(server.adminToken);
  const header = decodeProtectedHeader(server.adminToken);
  const claims = { scope: "admin" };
  // Same claims and issuer as a real admin token, signed by a key that is not the node's.
  const foreign = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  badTokens.foreignKey = await new SignJWT(claims)
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT", ...(header.kid ? { kid: header.kid } : {}) })
    .setIssuer(String(admin.iss)).setSubject("admin").setJti("forged-1").setIssuedAt().setExpirationTime("1h")
    .sign(foreign.privateKey);
  // Signed by the node's own key (taken from the running server: it is sealed in the vault) but already expired.
  const nodeKey = server.nodeKey.privateKey;
  const past = Math.floor(Date.now() / 1000) - 3600;
  badTokens.expired = await new SignJWT(claims)
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT", ...(header.kid ? { kid: header.kid } : {}) })
    .setIssuer(String(admin.iss)).setSubject("admin").setJti("expired-1").setIssuedAt(past - 60).setExpirationTime(past)
    .sign(nodeKey);
  // `alg: none`: a token anyone could write.
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  badTokens.unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...admin, jti: "unsigned-1" })}.`;
  badTokens.malformed = "not-a-jwt";
  badTokens.garbageSegments = "aaaa.bbbb.cccc";
  // A real admin-capable token, used once (so it is cached as valid), then revoked through the API.
  const minted = await server.request("/api/tokens", { method: "POST", json: { scopes: ["admin"], owner: "revokee" } });
  const { id, token } = (await minted.json()) as { id: string; token: string };
  expect((await server.request("/api/status", { token })).status).toBe(200);
  expect((await server.request(`/api/tokens/${id}`, { method: "DELETE" })).status).toBe(204);
  badTokens.revoked = token;
});
afterAll(async () => server.dispose());

describe("route security walk", () => {
  it("the scope table covers every protected route in /openapi.json, and only those (the WebSocket upgrade included)", () => {
    expect(routes.length).toBeGreaterThanOrEqual(10);
    const documented = routes.map((route) => route.key);
    const missing = documented.filter((key) => !(key in SCOPE_TABLE));
    expect(missing, "routes without a scope-table entry: add them to SCOPE_TABLE").toEqual([]);
    const stale = Object.keys(SCOPE_TABLE).filter((key) => !documented.includes(key));
    expect(stale, "scope-table entries for routes the server no longer has").toEqual([]);
  });

  it("answers 401 unauthorized with WWW-Authenticate when there is no token", async () => {
    for (const route of routes) {
      const response = await call(route, null);
      expect(response.headers.get("www-authenticate"), route.key).toMatch(/^Bearer/);
      await expectError(response, 401, "unauthorized");
    }
  });

  it("answers 401 to a token that is not a token at all (empty, one word, wrong scheme)", async () => {
    for (const route of routes) {
      for (const authorization of ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", server.adminToken]) {
        const path = fillPath(route.path, "walk-target");
        const response = await server.request(path, { method: route.method, token: null, headers: { authorization } });
        await expectError(response, 401, "unauthorized");
      }
    }
  });

  for (const kind of ["malformed", "garbageSegments", "foreignKey", "expired", "unsigned", "revoked"]) {
    it(`answers 401 to a ${kind} token on every route`, async () => {
      const token = badTokens[kind];
      expect(token).toBeTruthy();
      for (const route of routes) {
        const response = await call(route, token!);
        expect(response.headers.get("www-authenticate"), route.key).toMatch(/^Bearer/);
        await expectError(response, 401, "unauthorized");
      }
    });
  }

  it("answers 403 forbidden to a valid token without the route's scope", async () => {
    let checked = 0;
    for (const route of routes) {
      const rule = SCOPE_TABLE[route.key];
      if (!rule || rule.need === "any") continue;
      const response = await call(route, await tokenFor(INSUFFICIENT[rule.need]));
      await expectError(response, 403, "forbidden");
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(23);
  });

  it("lets a token with exactly the route's scope through authentication and authorisation", async () => {
    for (const route of routes) {
      const rule = SCOPE_TABLE[route.key];
      if (!rule) continue;
      const response = await call(route, await tokenFor(SUFFICIENT[rule.need]));
      expect([401, 403], `${route.key} with ${SUFFICIENT[rule.need].join(",")} → ${response.status}`).not.toContain(response.status);
      if ((rule.need === "gateway" || route.key === "POST /api/planner/plan" || route.key === "POST /api/agents/a2a" || route.key === "POST /api/agents/mcp") && response.status >= 500) {
        // The walk's services point at a closed port: past auth, the gateway honestly reports the upstream.
        const code = ((await response.json()) as { error: { code: string } }).error.code;
        expect(code, route.key).toMatch(/^(upstream_|no_service_available$|capability_not_found$|model_not_found$|planner_unavailable$|agent_card_unreadable$|mcp_server_unreachable$)/);
      } else expect(response.status, route.key).toBeLessThan(500);
    }
  });

  it("lets admin act for every scope", async () => {
    for (const route of routes) {
      if (route.method === "DELETE") continue; // would remove the walk's own target
      const response = await call(route, server.adminToken);
      expect([401, 403], `${route.key} → ${response.status}`).not.toContain(response.status);
    }
  });
});

describe("WebSocket /ws/registry", () => {
  /** Resolves with the HTTP status of a refused upgrade, or 101 when the socket opened. */
  function upgrade(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws/registry${query}`, { headers });
      socket.once("open", () => {
        socket.close();
        resolve({ status: 101, body: "" });
      });
      socket.once("unexpected-response", (_request, response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.once("error", (error) => {
        if (!String(error.message).includes("Unexpected server response")) reject(error);
      });
    });
  }

  it("refuses an upgrade without a token with 401", async () => {
    const { status, body } = await upgrade("");
    expect(status).toBe(401);
    expect(ErrorBodySchema.parse(JSON.parse(body)).error.code).toBe("unauthorized");
  });

  it("refuses bad tokens in ?token= and in the Authorization header with 401", async () => {
    for (const kind of ["malformed", "foreignKey", "expired", "unsigned", "revoked"]) {
      const token = badTokens[kind]!;
      expect((await upgrade(`?token=${encodeURIComponent(token)}`)).status, kind).toBe(401);
      expect((await upgrade("", { authorization: `Bearer ${token}` })).status, kind).toBe(401);
    }
  });

  it("refuses a valid token without services:read with 403, and accepts one with it", async () => {
    const weak = await tokenFor(INSUFFICIENT.read);
    const refused = await upgrade(`?token=${encodeURIComponent(weak)}`);
    expect(refused.status).toBe(403);
    expect(ErrorBodySchema.parse(JSON.parse(refused.body)).error.code).toBe("forbidden");
    expect((await upgrade("", { authorization: `Bearer ${weak}` })).status).toBe(403);
    const reader = await tokenFor(SUFFICIENT.read);
    expect((await upgrade(`?token=${encodeURIComponent(reader)}`)).status).toBe(101);
    expect((await upgrade("", { authorization: `Bearer ${reader}` })).status).toBe(101);
  });
});

// The routes of SIGNATURE_AUTHENTICATED_ROUTES (support/api-surface.ts) are left out of the bearer walk above:
// a KLP signature, not a token, authenticates them. Here: they are the documented ones, declare no bearer
// security, and a token of any kind changes nothing — an unsigned message is refused with a KLP code, signed
// by the node, whether the request carries no token, a bad one or the admin's.
describe("signature-authenticated routes (KLP)", () => {
  it("are documented without bearer security", async () => {
    const doc = await fetchOpenApi(server);
    const documented = routesOf(doc).map((route) => route.key);
    for (const key of SIGNATURE_AUTHENTICATED_ROUTES) {
      expect(documented, key).toContain(key);
      const [method, path] = key.split(" ") as [string, string];
      const security = doc.paths[path]?.[method.toLowerCase()]?.security ?? [];
      expect(security.flatMap((requirement) => Object.keys(requirement)), key).toEqual([]);
    }
  });

  it("refuse an unsigned message with KLP_MALFORMED whatever bearer token comes with it", async () => {
    const key = klp.generateKeyPair();
    const did = ((await (await fetch(`${server.url}/.well-known/klp.json`)).json()) as { did: string }).did;
    for (const route of SIGNATURE_AUTHENTICATED_ROUTES.filter((entry) => entry.startsWith("POST "))) {
      const path = route.slice("POST ".length);
      for (const token of [null, "not-a-jwt", badTokens.foreignKey!, server.adminToken]) {
        const { signature: _signature, ...unsigned } = klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, key);
        const response = await server.request(path, { method: "POST", token, json: unsigned });
        expect(response.status, `${route} with ${token === null ? "no token" : "a token"}`).toBe(400);
        const body = klp.KlpEnvelopeSchema.parse(await response.json());
        expect(body).toMatchObject({ type: "error", from: did, payload: { code: "KLP_MALFORMED" } });
        expect(response.headers.get("www-authenticate")).toBeNull();
      }
    }
  });
});
