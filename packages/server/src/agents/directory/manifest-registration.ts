/**
 * @module agents/directory/manifest-registration
 * How a verified agent manifest becomes a registry registration of type `agent`: the skills' capabilities become
 * the record's capabilities (so discovery by capability finds agents like any service), the endpoint its url, and
 * everything the mesh needs to reach and load the agent (DID, transport, skills, limits) goes under
 * `metadata.agent`. The registry then applies its own rules (owner, visibility, leases) as for any registration.
 */
import {
  AGENT_METADATA_KEY,
  AgentRecordMetadataSchema,
  SemverSchema,
  ServiceRegistrationSchema,
  fieldErrorsFromZod,
  type AgentRecordMetadata,
  type ServiceRecord,
  type ServiceRegistration,
  type SignedAgentManifest,
} from "@kai/protocol";
import { ApiError } from "../../errors.js";

/** The record's protocol: KLP agents speak KLP; the others are reached over the endpoint URL's own scheme. */
function protocolOf(manifest: SignedAgentManifest): "http" | "https" | "klp" {
  if (manifest.endpoint.transport === "klp") return "klp";
  return manifest.endpoint.url.startsWith("https:") ? "https" : "http";
}

export function registrationFromManifest(manifest: SignedAgentManifest): ServiceRegistration {
  const agent: AgentRecordMetadata = {
    did: manifest.did,
    transport: manifest.endpoint.transport,
    source: "manifest",
    skills: manifest.skills,
    limits: manifest.limits,
    issuedAt: manifest.issuedAt,
  };
  const parsed = ServiceRegistrationSchema.safeParse({
    id: manifest.id,
    name: manifest.name,
    description: manifest.description,
    type: "agent",
    capabilities: manifest.skills.map((skill) => skill.capability),
    tags: manifest.tags,
    url: manifest.endpoint.url,
    protocol: protocolOf(manifest),
    // A manifest's version is free text; the registry keeps only semantic versions.
    ...(manifest.version !== undefined && SemverSchema.safeParse(manifest.version).success ? { version: manifest.version } : {}),
    ...(manifest.ttl !== undefined ? { ttl: manifest.ttl } : {}),
    ...(manifest.visibility !== undefined ? { visibility: manifest.visibility } : {}),
    metadata: { [AGENT_METADATA_KEY]: agent },
  });
  if (!parsed.success) {
    // Only the combined size (skills' schemas under the metadata limit) can fail here: the manifest itself was valid.
    throw new ApiError("validation_failed", "the manifest does not fit in a registry record", fieldErrorsFromZod(parsed.error));
  }
  return parsed.data;
}

/** The agent part of a record, or undefined when the record is not an agent's (or its metadata is not an agent's). */
export function agentMetadataOf(record: ServiceRecord): AgentRecordMetadata | undefined {
  if (record.type !== "agent") return undefined;
  const parsed = AgentRecordMetadataSchema.safeParse(record.metadata[AGENT_METADATA_KEY]);
  return parsed.success ? parsed.data : undefined;
}
