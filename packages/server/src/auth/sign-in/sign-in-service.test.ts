/**
 * The password sign-in against the memory identity store: an unknown user, an agent, a user without a password and
 * a wrong password each pay exactly one argon2id verification and get the same refusal, so neither the answer nor
 * the work done tells which usernames exist.
 */
import { describe, expect, it } from "vitest";
import { MemoryIdentityStore } from "../../storage/memory/memory-identity-store.js";
import { PasswordHasher } from "../passwords.js";
import { SecurityLog } from "../security-log.js";
import { SignInService } from "./sign-in-service.js";
import { AgentSignInService } from "../agents/agent-sign-in.js";
import type { UserService } from "../users/user-service.js";
import type { IssuedSession, LoginThrottle, SecondFactors, SessionStarter } from "../sign-in-ports.js";
import { ApiError } from "../../errors.js";
import type { UserRow } from "../../storage/contracts/identity-store.js";

const quiet = { info: () => undefined, warn: () => undefined };
// Neither is under test here (each has its own tests): no user has a factor, and no attempt waits.
const noSecondFactors: SecondFactors = { required: async () => ({ enrolled: [], mustEnrol: false }), verify: async () => false };
const noThrottle: LoginThrottle = { check: async () => undefined, failed: async () => undefined, succeeded: async () => undefined };

function user(overrides: Partial<UserRow>): UserRow {
  const at = new Date().toISOString();
  return { id: crypto.randomUUID(), username: "x", kind: "person", displayName: null, passwordHash: null, did: null, ssoSubject: null, state: "active", roles: [], mustChangePassword: false, preferences: {}, createdAt: at, updatedAt: at, passwordChangedAt: null, lastSignInAt: null, ...overrides };
}

describe("password sign-in", () => {
  it("pays one verification for every refusal and answers them alike", async () => {
    const store = new MemoryIdentityStore(() => undefined);
    const hasher = new PasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 });
    await store.insertUser(user({ username: "alice", passwordHash: await hasher.hash("correct horse battery") }));
    await store.insertUser(user({ username: "sso-only" }));
    await store.insertUser(user({ username: "agent:one", kind: "agent", did: "did:key:z6Mk" }));
    const started: IssuedSession[] = [];
    const sessions: SessionStarter = { start: async () => { throw new Error("no session may start"); } };
    const signIn = new SignInService({ store, hasher, throttle: noThrottle, secondFactors: noSecondFactors, sessions, users: {} as UserService, log: new SecurityLog(store, quiet), agents: new AgentSignInService({ store, nodeDid: () => "kind:did:node#ed25519" }) });
    const client = { address: "127.0.0.1", userAgent: null };
    const answers: Array<{ code: string; message: string }> = [];
    for (const username of ["nobody", "alice", "sso-only", "agent:one"]) {
      const before = hasher.verifications;
      const error = await signIn.password({ username, password: "wrong password", mode: "token" }, client).catch((e: unknown) => e);
      expect(hasher.verifications - before, username).toBe(1);
      expect(error).toBeInstanceOf(ApiError);
      answers.push({ code: (error as ApiError).code, message: (error as ApiError).message });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0]!.code).toBe("invalid_credentials");
    expect(started).toEqual([]);
  });
});
