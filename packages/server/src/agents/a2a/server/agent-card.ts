/**
 * @module agents/a2a/server/agent-card
 * The node's A2A v1.0 agent card (`/.well-known/agent-card.json`): two interfaces, JSON-RPC at `<base>/a2a` and
 * HTTP+JSON (REST) at `<base>/a2a/rest` (A2A 1.0, both served by one request handler), bearer tokens with scope `tasks:run`, streaming, push notifications (push/), and one skill per capability kCore can run for a
 * caller: agents' skills, tools' capabilities and the gateway capabilities kCore's gateway dispatcher serves.
 * The card is public (A2A requires it readable before sign-in), so it lists only what `public` records offer
 * (never an internal or private record's capability); a caller may be able to run more. Read from the registry at
 * most every CACHE_MS: a public endpoint must stay cheap however often it is asked. With the node's key the card is
 * signed (A2A AgentCardSignature, EdDSA, `kid` the node's DID: ../card-signature.ts), once per base URL and skills read.
 */
import { AgentCard, type AgentSkill } from "@a2a-js/sdk";
import type { klp } from "@kai/protocol";
import { signAgentCard } from "../card-signature.js";
import type { Principal } from "../../../auth/principal.js";
import type { RegistryService } from "../../../registry/registry-service.js";
import { VERSION } from "../../../version.js";
import { readCapabilityCatalog } from "../../planner/capability-catalog.js";

/** A2A's protocol version this endpoint speaks (the SDK's A2A_PROTOCOL_VERSION). */
export const A2A_VERSION = "1.0";
/** The JSON-RPC endpoint's path on this node. */
export const A2A_PATH = "/a2a";
/** The HTTP+JSON (REST) binding's base path on this node: `POST <this>/message:send`, `GET <this>/tasks/{id}`, … */
export const A2A_REST_PATH = "/a2a/rest";
const CACHE_MS = 30_000;
/** A card is read by clients on every connect: keep it a card, not a registry dump. */
const MAX_SKILLS = 200;
/** Signed cards kept per skills read (one per base URL the node is reached by). */
const MAX_SIGNED = 16;

/**
 * Reads the registry as nobody in particular: the public card shows public records only. The owner is no one's (an
 * owner is an identifier starting with a letter or digit); not a NUL byte, which PostgreSQL refuses in text.
 */
const ANONYMOUS: Principal = { tokenId: "a2a-card", owner: "(a2a card: no one)", scopes: ["services:read"], expiresAt: Number.MAX_SAFE_INTEGER };

function kindOf(offeredBy: string): string {
  return offeredBy.startsWith("agent ") ? "agent" : offeredBy.startsWith("tool ") ? "tool" : "gateway";
}

/** The skills: one per capability offered by a public record, described by an agent's skill where one has it. */
export async function readPublicSkills(registry: Pick<RegistryService, "list">): Promise<AgentSkill[]> {
  const publicOnly: Pick<RegistryService, "list"> = {
    list: async (principal, query) => {
      const page = await registry.list(principal, query);
      return { ...page, services: page.services.filter((record) => record.visibility === "public") };
    },
  };
  const catalog = await readCapabilityCatalog(publicOnly, ANONYMOUS);
  const described = new Map<string, { name: string; description: string }>();
  for (const agent of catalog.agents) for (const skill of agent.skills) if (!described.has(skill.capability) && skill.description) described.set(skill.capability, skill);
  return [...catalog.capabilities.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_SKILLS)
    .map(([capability, offeredBy]) => ({
      id: capability,
      name: described.get(capability)?.name ?? capability,
      description: described.get(capability)?.description || `Runs the capability ${capability} through kCore (name it in the message metadata kai.capability, or state a goal and let kPlanner plan it).`,
      tags: [...new Set(offeredBy.map(kindOf))].sort(),
      examples: [],
      inputModes: ["application/json", "text/plain"],
      outputModes: ["application/json"],
      securityRequirements: [],
    }));
}

export function buildAgentCard(baseUrl: string, skills: AgentSkill[]): AgentCard {
  return {
    name: "kAI node",
    description:
      "A kAI Service Stack node. Send a goal as a text part (input as data parts): kCore plans it with kPlanner, or runs the " +
      "capability named in metadata kai.capability, across the node's agents, tools and gateway.",
    // JSON-RPC first: the binding clients that accept both have always used here.
    supportedInterfaces: [
      { url: `${baseUrl}${A2A_PATH}`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: A2A_VERSION },
      { url: `${baseUrl}${A2A_REST_PATH}`, protocolBinding: "HTTP+JSON", tenant: "", protocolVersion: A2A_VERSION },
    ],
    provider: undefined,
    version: VERSION,
    capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: false },
    securitySchemes: {
      bearer: { scheme: { $case: "httpAuthSecurityScheme", value: { description: "A node token (or session access token) with scope tasks:run", scheme: "Bearer", bearerFormat: "JWT" } } },
    },
    securityRequirements: [{ schemes: { bearer: { list: ["tasks:run"] } } }],
    defaultInputModes: ["text/plain", "application/json"],
    defaultOutputModes: ["application/json", "text/plain"],
    skills,
    signatures: [],
  };
}

/** The card's skills, read at most every CACHE_MS (one read at a time however many ask at once). */
export class AgentCardSource {
  private cached: { at: number; skills: Promise<AgentSkill[]>; signed: Map<string, Promise<AgentCard>> } | undefined;

  /** `signingKey`: the node's identity key (the card is signed with it); absent: an unsigned card. */
  constructor(
    private readonly registry: Pick<RegistryService, "list">,
    private readonly now: () => number = Date.now,
    private readonly signingKey?: () => klp.KlpKeyPair,
  ) {}

  /** The card as A2A's JSON (proto JSON: enum names, no `$case`), for `baseUrl` (how the caller reached the node). */
  async cardJson(baseUrl: string): Promise<unknown> {
    return AgentCard.toJSON(await this.card(baseUrl));
  }

  async card(baseUrl: string): Promise<AgentCard> {
    const skills = await this.skills();
    const key = this.signingKey?.();
    const cached = this.cached;
    if (!key || !cached) return buildAgentCard(baseUrl, skills);
    let signed = cached.signed.get(baseUrl);
    if (!signed) {
      if (cached.signed.size >= MAX_SIGNED) cached.signed.clear();
      signed = signAgentCard(buildAgentCard(baseUrl, skills), key);
      cached.signed.set(baseUrl, signed);
      signed.catch(() => cached.signed.delete(baseUrl));
    }
    return signed;
  }

  private skills(): Promise<AgentSkill[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at >= CACHE_MS) {
      const skills = readPublicSkills(this.registry);
      this.cached = { at: now, skills, signed: new Map() };
      // A failed read is not kept: the next caller tries again.
      skills.catch(() => {
        if (this.cached?.skills === skills) this.cached = undefined;
      });
    }
    return this.cached.skills;
  }
}
