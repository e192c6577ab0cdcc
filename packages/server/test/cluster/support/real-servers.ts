/**
 * The real PostgreSQL and Redis of a cluster test file that needs both: started once in the file's beforeAll,
 * stopped in its afterAll (rule: one server of each per file). A part that is not installed stays null (the
 * helpers log why), so each test skips itself with `context.skip()` or `describe.skipIf`. Also the per-test
 * cleanup list those files share: whatever a test opened is closed after it, newest first.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { startPostgres, type PostgresServer } from "../../helpers/postgres-server.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";

export interface RealServers {
  postgres: PostgresServer | null;
  redis: RedisServer | null;
}

/** Registers the hooks that start and stop both servers; the fields are set once beforeAll ran. */
export function useRealServers(): RealServers {
  const servers: RealServers = { postgres: null, redis: null };
  beforeAll(async () => {
    servers.postgres = await startPostgres();
    servers.redis = await startRedis();
  });
  afterAll(async () => {
    await servers.redis?.stop();
    await servers.postgres?.stop();
  });
  return servers;
}

/** A list of close steps, run after every test in reverse order (a failing step does not stop the others). */
export function cleanupAfterEach(): Array<() => Promise<unknown>> {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });
  return cleanup;
}
