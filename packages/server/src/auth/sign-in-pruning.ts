/**
 * @module auth/sign-in-pruning
 * The singleton job that deletes what sign-in leaves behind: one-time challenges past their expiry (agent
 * sign-in nonces, WebAuthn challenges, SSO states) and sessions that ended long ago. Expired challenges are
 * already refused when taken; this only keeps the tables from growing. Ended sessions are kept for a while
 * so that a user and an admin can still see how a session ended (revoked by whom, refresh-token reuse).
 */
import type { IdentityStore } from "../storage/contracts/identity-store.js";

/** How long an ended (revoked or expired) session stays listed before it is deleted. */
export const ENDED_SESSION_RETENTION_MS = 30 * 86_400_000;
const PRUNE_INTERVAL_MS = 60_000;

export interface SignInPruningOptions {
  store: Pick<IdentityStore, "pruneChallenges" | "pruneSessions">;
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
  intervalMs?: number;
}

/** A `SingletonJobs` job: prunes once at start and then every minute while this instance leads. */
export function signInPruningJob(options: SignInPruningOptions): { name: string; start: () => void; stop: () => void } {
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | null = null;
  const prune = async (): Promise<void> => {
    const at = now();
    await options.store.pruneChallenges(new Date(at).toISOString());
    await options.store.pruneSessions(new Date(at - ENDED_SESSION_RETENTION_MS).toISOString());
  };
  const run = () => void prune().catch((error: unknown) => options.logger.warn({ err: error }, "sign-in pruning failed; it runs again in a minute"));
  return {
    name: "sign-in-pruning",
    start: () => {
      run();
      timer = setInterval(run, options.intervalMs ?? PRUNE_INTERVAL_MS);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
