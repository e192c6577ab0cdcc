/**
 * @module agents/directory/manifest-check
 * The checks a signed agent manifest passes before it may touch the registry: the signature by the key its `did`
 * names (over the JSON as received), then its age. Age matters because a signature alone never expires: without it,
 * anyone who once saw a manifest could register it again (its old endpoint, its old skills) long after the agent
 * moved on. A small allowance for clocks running ahead keeps honest agents with a slightly fast clock working.
 */
import { verifyAgentManifest } from "@kai/protocol";
import { ApiError } from "../../errors.js";

/** A manifest signed longer ago than this is refused as a replay. */
export const MANIFEST_MAX_AGE_MS = 5 * 60_000;
/** A manifest dated further ahead than this is refused (a clock that far off, or a manifest made to outlive the window). */
export const MANIFEST_MAX_SKEW_MS = 60_000;

/** Throws 400 `agent_signature_invalid` unless `received` (the body as parsed from JSON, before defaults) is signed by its `did`. */
export function checkManifestSignature(received: unknown): void {
  if (!verifyAgentManifest(received)) {
    throw new ApiError("agent_signature_invalid", "the manifest's signature is not a valid Ed25519 signature by the key its did names (over its JCS text without signature)");
  }
}

/** Throws 400 `agent_manifest_stale` when `issuedAt` is outside [now - 5 min, now + 1 min], or older than the registered one. */
export function checkManifestAge(issuedAt: string, nowMs: number, registeredIssuedAt?: string): void {
  const issuedMs = Date.parse(issuedAt);
  if (Number.isNaN(issuedMs) || issuedMs < nowMs - MANIFEST_MAX_AGE_MS) {
    throw new ApiError("agent_manifest_stale", `the manifest was signed at ${issuedAt}, more than ${MANIFEST_MAX_AGE_MS / 60_000} minutes ago: sign it again`);
  }
  if (issuedMs > nowMs + MANIFEST_MAX_SKEW_MS) {
    throw new ApiError("agent_manifest_stale", `the manifest is dated ${issuedAt}, in the future by this node's clock: check the agent's clock`);
  }
  if (registeredIssuedAt !== undefined && issuedMs < Date.parse(registeredIssuedAt)) {
    throw new ApiError("agent_manifest_stale", `a newer manifest (signed at ${registeredIssuedAt}) is registered: this one is older`);
  }
}
