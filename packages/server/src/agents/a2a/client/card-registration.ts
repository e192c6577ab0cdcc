/**
 * @module agents/a2a/client/card-registration
 * How an A2A agent card becomes a registry registration of type `agent`: each card skill becomes an agent skill
 * whose capability is the skill's id sanitised to a capability (lower-case letters, digits and `_ . : -`), and the
 * record offers those plus the skills' tags (sanitised the same way), so a plan step asking for either finds the
 * agent. The record's url is the card's JSON-RPC endpoint; `metadata.agent` (transport and source `a2a`) and
 * `metadata.a2a` (where the card is read from) say how to reach it again. The same card always gives the same
 * registration, so re-reading an unchanged card changes nothing in the registry.
 */
import {
  A2A_METADATA_KEY,
  AGENT_METADATA_KEY,
  AgentIdSchema,
  ServiceRegistrationSchema,
  TagSchema,
  fieldErrorsFromZod,
  type A2aRecordMetadata,
  type AddA2aAgentRequest,
  type AgentRecordMetadata,
  type AgentSkill,
  type ServiceRegistration,
} from "@kai/protocol";
import { ApiError } from "../../../errors.js";
import type { ReadCard } from "./agent-card.js";

const MAX_SKILLS = 64;

/** `text` as a capability: lower-case, other characters as `_`, starting with a letter, at most 64 characters. */
export function capabilityOf(text: string): string | undefined {
  let value = text.toLowerCase().replace(/[^a-z0-9_.:-]+/g, "_").replace(/^[^a-z]+/, "");
  value = value.slice(0, 64).replace(/[_.:-]+$/, "");
  return value.length > 0 ? value : undefined;
}

/** The default agent id: `kA2a:` and the card's name as an id's name part. */
export function defaultAgentId(cardName: string): string {
  const name = cardName.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "").slice(0, 63).replace(/[-._]+$/, "");
  const id = `kA2a:${name}`;
  if (!AgentIdSchema.safeParse(id).success) {
    throw new ApiError("validation_failed", "the card's name gives no usable agent id; pass `id` (kClass:name)", [{ path: "id", message: "required for this card" }]);
  }
  return id;
}

function skillsOf(read: ReadCard): AgentSkill[] {
  const skills: AgentSkill[] = [];
  const seen = new Set<string>();
  for (const skill of read.card.skills.slice(0, MAX_SKILLS)) {
    const capability = capabilityOf(skill.id) ?? capabilityOf(skill.name);
    const id = skill.id.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[^A-Za-z0-9]+/, "").slice(0, 64);
    if (!capability || id.length === 0 || seen.has(id)) continue;
    seen.add(id);
    skills.push({
      id,
      name: (skill.name || skill.id).slice(0, 200),
      description: (skill.description ?? "").slice(0, 2000),
      capability,
      tags: (skill.tags ?? []).filter((tag) => TagSchema.safeParse(tag).success).slice(0, 32),
    });
  }
  return skills;
}

export function registrationFromCard(read: ReadCard, request: AddA2aAgentRequest & { id: string }): ServiceRegistration {
  const skills = skillsOf(read);
  if (skills.length === 0) throw new ApiError("agent_card_unreadable", `the agent card at ${read.cardUrl} lists no skill the node can offer as a capability`);
  const capabilities = new Set<string>();
  for (const skill of skills) capabilities.add(skill.capability);
  for (const skill of read.card.skills) {
    for (const tag of skill.tags ?? []) {
      const capability = capabilityOf(tag);
      if (capability) capabilities.add(capability);
    }
  }
  const agent: AgentRecordMetadata = { transport: "a2a", source: "a2a", skills, limits: { maxConcurrentTasks: 4, stepTimeoutMs: 60_000 } };
  const a2a: A2aRecordMetadata = {
    cardUrl: read.cardUrl,
    protocolBinding: read.endpoint.protocolBinding,
    protocolVersion: read.endpoint.protocolVersion,
    streaming: read.card.capabilities?.streaming === true,
    ...(read.card.version ? { version: read.card.version.slice(0, 64) } : {}),
    ...(read.signature ? { signature: read.signature.status === "verified" ? "verified" : "unverified" } : {}),
    ...(read.signature?.signedBy ? { signedBy: read.signature.signedBy.slice(0, 200) } : {}),
  };
  const parsed = ServiceRegistrationSchema.safeParse({
    id: request.id,
    name: read.card.name.slice(0, 200) || request.id,
    description: (read.card.description ?? "").slice(0, 2000),
    type: "agent",
    capabilities: [...capabilities].slice(0, 64),
    tags: request.tags ?? [],
    url: read.endpoint.url,
    protocol: read.endpoint.url.startsWith("https:") ? "https" : "http",
    ...(request.visibility !== undefined ? { visibility: request.visibility } : {}),
    metadata: { [AGENT_METADATA_KEY]: agent, [A2A_METADATA_KEY]: a2a },
  });
  if (!parsed.success) throw new ApiError("validation_failed", "the agent card does not fit in a registry record", fieldErrorsFromZod(parsed.error));
  return parsed.data;
}
