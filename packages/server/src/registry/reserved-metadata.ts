/**
 * @module registry/reserved-metadata
 * Metadata keys that only the node's own paths may write, guarded on the services API (issue 16):
 * - `agent`: the part a signed manifest wrote (DID, skills, limits). Changing it by PATCH would let an owner bind
 *   another key or other skills to an agent without a signature; it changes only by registering a signed manifest
 *   (`POST /api/agents`), which checks the signature and the identity binding.
 * - `mcp` and `a2a`: how the node reaches an MCP server (a command it runs!) or an A2A agent (a card URL it reads).
 *   Written by anyone, they would make the node run a command or fetch a URL for them; they are written only by
 *   `POST /api/agents/mcp` and `POST /api/agents/a2a`, which check who may.
 * A PATCH that leaves these keys as they are passes (with the revision it was checked at, so a change in between
 * is a 409, never an unchecked write). A registration may not carry `mcp` or `a2a`; it may carry `agent`, as plain
 * HTTP agents registered through the services API do (a new record: nothing signed is overwritten, and an agent's
 * existing record stays bound to its DID only through `POST /api/agents`).
 */
import { isDeepStrictEqual } from "node:util";
import { A2A_METADATA_KEY, AGENT_METADATA_KEY, MCP_METADATA_KEY, type ServicePatch, type ServiceRecord, type ServiceRegistration } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { RegistryService } from "./registry-service.js";

const PATCH_RESERVED = [AGENT_METADATA_KEY, MCP_METADATA_KEY, A2A_METADATA_KEY] as const;
const REGISTER_RESERVED = [MCP_METADATA_KEY, A2A_METADATA_KEY] as const;
const HOW: Record<string, string> = {
  [AGENT_METADATA_KEY]: "register a signed manifest (POST /api/agents)",
  [MCP_METADATA_KEY]: "add the MCP server again (POST /api/agents/mcp)",
  [A2A_METADATA_KEY]: "add the A2A agent again (POST /api/agents/a2a)",
};

function refused(key: string): ApiError {
  return new ApiError("reserved_metadata_key", `metadata.${key} is reserved: it cannot be changed through the services API; ${HOW[key]}`);
}

/** `POST /api/services/register`: no `mcp` or `a2a` part (cheap: two key lookups on the hot path). */
export function refuseReservedRegistration(registration: Pick<ServiceRegistration, "metadata">): void {
  const metadata = registration.metadata as Record<string, unknown> | undefined;
  if (metadata === undefined) return;
  for (const key of REGISTER_RESERVED) if (Object.hasOwn(metadata, key)) throw refused(key);
}

/** `PATCH /api/services/{id}`: a patch of `metadata` must leave the reserved keys as they are. */
export async function patchKeepingReserved(registry: Pick<RegistryService, "get" | "patch">, principal: Principal, id: string, patch: ServicePatch): Promise<ServiceRecord> {
  if (patch.metadata === undefined) return registry.patch(principal, id, patch);
  const existing = await registry.get(principal, id);
  const next = (patch.metadata ?? {}) as Record<string, unknown>;
  const before = existing.metadata as Record<string, unknown>;
  for (const key of PATCH_RESERVED) if (!isDeepStrictEqual(before[key], next[key])) throw refused(key);
  return registry.patch(principal, id, { ...patch, expectedRevision: patch.expectedRevision ?? existing.revision });
}
