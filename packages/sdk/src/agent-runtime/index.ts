/**
 * @module @kai/sdk/agent
 * The agent side of the agent mesh, Node only (it serves HTTP and reads key files): `createKlpAgent` runs an agent
 * reached over KLP. A separate entry point (package.json `exports["./agent"]`) so that browser bundles of the SDK
 * never pull in node:http or node:fs. Docs: docs/agents/klp-agents.md.
 */
export { createKlpAgent, type KlpAgent, type KlpAgentManifest, type KlpAgentOptions } from "./klp-agent.js";
export { KlpEndpoint, type KlpEndpointOptions, type KlpInputRequired, type KlpSkillHandler, type KlpStepContext } from "./klp-endpoint.js";
export { loadOrCreateAgentKey } from "./agent-key.js";
export { pinNodeDid } from "./node-pin.js";
export { createKlpMemory, type KlpMemory, type KlpMemoryOptions, type KlpMemoryRead, type KlpMemoryWrite } from "./node-memory.js";
