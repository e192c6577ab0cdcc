/**
 * @module auth/agents/agent-sign-in
 * Agents sign in with their keys (issue 14): `challenge(did)` hands out a one-time challenge whose `message` binds
 * this node's DID, the agent's DID, a 32-byte random nonce and the expiry; the agent signs the message's UTF-8 bytes
 * with the Ed25519 key of its DID, and `verify` checks that answer and returns the agent's user. The DID is the key
 * (klp/did), so no key is stored: the user row's `did` names the key that may sign in as it.
 *
 * Why it is built this way:
 * - A challenge is answered the same way whether or not the DID belongs to an agent (nothing is looked up), so the
 *   route cannot be used to learn which DIDs are users.
 * - `takeChallenge` consumes the challenge atomically before anything is checked: a wrong signature spends it too,
 *   so each challenge gets exactly one try, also across instances on one database.
 * - Every failure is the one `invalid_credentials` (which check failed goes to the security log, not the client);
 *   `account_disabled` is said only after the signature proved the caller holds the key.
 * - The message starts with a fixed context line that no KLP envelope (JCS JSON) can start with, so a signature
 *   made here can never be replayed as a KLP message, nor the other way round.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { klp, parseJson, type AgentLoginRequest, type ChallengeResponse } from "@kai/protocol";
import type { AgentSignIn, SignInClient } from "../sign-in-ports.js";
import type { IdentityStore, UserRow } from "../../storage/contracts/identity-store.js";
import type { SecurityEventInput } from "../security-log.js";
import { ApiError } from "../../errors.js";

/** The first line of every agent sign-in message (domain separation from KLP envelopes and anything else signed). */
export const AGENT_SIGN_IN_CONTEXT = "kai agent sign-in v1";
/** How long a challenge can be answered, ms (the issue: short expiry). */
export const DEFAULT_CHALLENGE_TTL_MS = 60_000;

const ChallengeDataSchema = z.object({ message: z.string() });

export interface AgentSignInDeps {
  store: Pick<IdentityStore, "putChallenge" | "takeChallenge" | "getUserByDid">;
  /** This node's DID (its KLP identity): bound into every message so a signature is good for this node only. */
  nodeDid: () => string;
  /** Where failures are recorded with their reason (SPINE's SecurityLog fits). */
  securityLog?: { recordLater(event: SecurityEventInput): void };
  now?: () => number;
  challengeTtlMs?: number;
}

/** The exact text an agent signs; each field on its own line, so no field can spill into another. */
export function agentSignInMessage(fields: { nodeDid: string; agentDid: string; challengeId: string; nonce: string; expiresAt: string }): string {
  return [
    AGENT_SIGN_IN_CONTEXT,
    `node: ${fields.nodeDid}`,
    `agent: ${fields.agentDid}`,
    `challenge: ${fields.challengeId}`,
    `nonce: ${fields.nonce}`,
    `expires: ${fields.expiresAt}`,
  ].join("\n");
}

/** One sign-in attempt: what was presented and from where. */
interface Attempt {
  request: AgentLoginRequest;
  address: string;
}

type FailureReason = "unknown_or_spent_challenge" | "did_mismatch" | "bad_signature" | "unknown_agent" | "not_an_agent" | "disabled";

export class AgentSignInService implements AgentSignIn {
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(private readonly deps: AgentSignInDeps) {
    this.now = deps.now ?? Date.now;
    this.ttlMs = deps.challengeTtlMs ?? DEFAULT_CHALLENGE_TTL_MS;
  }

  async challenge(did: string): Promise<ChallengeResponse> {
    // A syntax check only: it says nothing about whether an agent has this DID.
    if (!klp.publicKeyFromDid(did)) {
      throw new ApiError("validation_failed", "invalid body", [{ path: "did", message: "must be kind:did:<base64url 32-byte key>#ed25519" }]);
    }
    const now = this.now();
    const challengeId = randomUUID();
    const expiresAt = new Date(now + this.ttlMs).toISOString();
    const message = agentSignInMessage({ nodeDid: this.deps.nodeDid(), agentDid: did, challengeId, nonce: klp.toBase64Url(randomBytes(32)), expiresAt });
    await this.deps.store.putChallenge({
      id: challengeId,
      kind: "agent_sign_in",
      subject: did,
      data: JSON.stringify({ message }),
      expiresAt,
      createdAt: new Date(now).toISOString(),
    });
    return { challengeId, message, expiresAt };
  }

  async verify(request: AgentLoginRequest, client: Pick<SignInClient, "address">): Promise<UserRow> {
    const attempt = { request, address: client.address };
    const row = await this.deps.store.takeChallenge(request.challengeId, "agent_sign_in", new Date(this.now()).toISOString());
    if (!row) return this.fail(attempt, "unknown_or_spent_challenge");
    if (row.subject !== request.did) return this.fail(attempt, "did_mismatch");
    const parsed = parseJson(row.data);
    const data = parsed.ok ? ChallengeDataSchema.safeParse(parsed.value) : undefined;
    const publicKey = klp.publicKeyFromDid(request.did);
    const signature = klp.fromBase64Url(request.signature);
    if (!data?.success || !publicKey || !signature || !klp.verifyBytes(publicKey, klp.utf8(data.data.message), signature)) {
      return this.fail(attempt, "bad_signature");
    }
    const user = await this.deps.store.getUserByDid(request.did);
    if (!user) return this.fail(attempt, "unknown_agent");
    if (user.kind !== "agent") return this.fail(attempt, "not_an_agent", user);
    if (user.state !== "active") {
      this.record(attempt, "disabled", user);
      throw new ApiError("account_disabled", "this account is disabled");
    }
    return user;
  }

  private fail(attempt: Attempt, reason: FailureReason, user?: UserRow): never {
    this.record(attempt, reason, user);
    throw new ApiError("invalid_credentials", "the challenge or its signature is not valid");
  }

  private record({ request, address }: Attempt, reason: FailureReason, user?: UserRow): void {
    this.deps.securityLog?.recordLater({
      type: "sign_in_failed",
      outcome: "failure",
      userId: user?.id ?? null,
      username: user?.username ?? request.did,
      address,
      details: { method: "agent_key", reason, did: request.did },
    });
  }
}
