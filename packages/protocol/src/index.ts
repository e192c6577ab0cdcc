/**
 * @module @kai/protocol
 * Shared, runtime-neutral schemas and types of the kAI service stack. Every shape is defined once with
 * zod; the TypeScript type is inferred from it. Server, SDK, CLI and dashboard import from here.
 */
export * from "./schemas/common.js";
export * from "./schemas/errors.js";
export * from "./schemas/service.js";
export * from "./schemas/query.js";
export * from "./schemas/registry-stream.js";
export * from "./schemas/tokens.js";
export * from "./schemas/users.js";
export * from "./schemas/sign-in.js";
export * from "./schemas/mfa.js";
export * from "./schemas/sso.js";
export * from "./schemas/node-config.js";
export * from "./schemas/status.js";
export * from "./schemas/observations.js";
export * from "./schemas/logs.js";
export * from "./schemas/doctor.js";
export * from "./schemas/cluster.js";
export * from "./schemas/manifest.js";
export * from "./schemas/vault.js";
export * from "./schemas/agents.js";
export * from "./schemas/agents-signing.js";
export * from "./schemas/agents-mcp.js";
export * from "./schemas/agents-a2a.js";
export * from "./schemas/agents-a2a-rest.js";
export * from "./schemas/agents-runtime.js";
export * from "./schemas/tasks.js";
export * from "./schemas/events.js";
export * from "./schemas/prompts.js";
export { UNTRUSTED_CERTIFICATE_CODES, withoutOpensslInternals } from "./connection-failure.js";
export { placeOf, type TextPlace } from "./text-place.js";
export { parseJson, parseJsonBytes, decodeUtf8, isWellFormedText, findIllFormedText, DEFAULT_MAX_JSON_DEPTH, type JsonResult, type JsonFailure, type ParseJsonOptions } from "./parse-json.js";
export * from "./schemas/vault-api-types.js";
export * from "./schemas/gateway-openai.js";
export * from "./schemas/gateway-images.js";
export * from "./schemas/gateway-vector.js";
export * from "./schemas/gateway-workflow.js";
export * from "./schemas/gateway-audio.js";
export * from "./schemas/gateway-routing.js";
export * from "./schemas/gateway-front-door.js";
export * from "./schemas/connectors.js";
export * as klp from "./klp/index.js";
export * from "./schemas/artifacts.js";
export * from "./schemas/artifact-gc.js";
export * from "./schemas/step-artifacts.js";
export * from "./schemas/memory.js";
export * from "./schemas/plugins.js";
export * from "./schemas/plugin-lifecycle.js";
export * from "./schemas/plugin-ui.js";
export * from "./schemas/backups.js";
