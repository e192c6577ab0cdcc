/**
 * @module cluster/share-signals
 * What the instances of one node tell each other besides registry changes, wired in one place:
 * - a token revoked on one instance is refused by all (the token service publishes; the others mark it; every
 *   minute each instance also re-reads revocations from the database, so one cut off for longer than signals
 *   are kept cannot go on accepting a revoked token);
 * - the vault's header changed (initialised, rotated, passphrase changed) on one: the others reload it;
 * - a secret's value changed on one: the others' gateways forget their cached copy of it (credential-freshness.ts);
 * - the health checker (a singleton job, on the leader) reached a verdict: every instance shows and routes on it;
 * - a user was created, changed (roles, state) or deleted, or a custom role changed: every instance reloads it, so
 *   a user's tokens are capped by their current roles everywhere at once; a session was revoked: every instance
 *   refuses its access tokens at once (every minute each instance also checks its live sessions against the
 *   database, like token revocations).
 * In one process there is nobody to tell, and nothing is wired.
 */
import type { Logger } from "../logging/logger.js";
import type { TokenService } from "../auth/token-service.js";
import type { VaultService } from "../vault/vault-service.js";
import type { HealthVerdicts } from "../registry/health-verdicts.js";
import type { Cluster } from "./cluster-types.js";
import { vaultCredentialRef, type ForgetsCredentials } from "../gateway/router/credential-freshness.js";
import type { AccessTable } from "../auth/users/access-table.js";
import type { RoleCatalog } from "../auth/roles.js";

const REVOCATION_REFRESH_MS = 60_000;

export interface SharedSignalsDeps {
  cluster: Cluster;
  shared: boolean;
  tokens: TokenService;
  vault: VaultService;
  verdicts: HealthVerdicts;
  /** The gateway's circuit breakers hear the leader's verdicts too; its credential cache hears other instances' secret changes. */
  router: { reportHealth(id: string, outcome: { ok: boolean }): void } & ForgetsCredentials;
  logger: Logger;
  /** Users, roles and sessions as every request checks them (issue 14). */
  identity?: { access: AccessTable; roles: RoleCatalog };
}

export async function shareClusterSignals(deps: SharedSignalsDeps): Promise<{ stop(): void }> {
  const { cluster, shared, tokens, vault, verdicts, router, logger } = deps;
  if (!shared) return { stop: () => undefined };
  const offs: Array<() => void> = [];
  const publish = (topic: Parameters<Cluster["signals"]["publish"]>[0], payload: Record<string, unknown>) =>
    cluster.signals.publish(topic, payload).catch((error: unknown) => logger.warn({ err: error, topic }, "a cluster signal could not be published"));

  offs.push(
    cluster.signals.subscribe("token_revoked", (payload, meta) => {
      if (!meta.fromSelf && typeof payload.tokenId === "string") tokens.markRevoked(payload.tokenId);
    }),
  );
  const identity = deps.identity;
  if (identity) {
    offs.push(
      cluster.signals.subscribe("user_changed", (payload, meta) => {
        if (meta.fromSelf) return;
        const reload = payload.roles === true ? identity.roles.load() : typeof payload.userId === "string" ? identity.access.reloadUser(payload.userId) : Promise.resolve();
        reload.catch((error: unknown) => logger.warn({ err: error }, "reloading a user another instance changed failed"));
      }),
      cluster.signals.subscribe("session_revoked", (payload, meta) => {
        if (meta.fromSelf) return;
        if (typeof payload.sessionId === "string") identity.access.markSessionRevoked(payload.sessionId);
        if (typeof payload.userId === "string") identity.access.forgetUserSessions(payload.userId);
      }),
    );
  }
  const refresh = setInterval(() => {
    tokens.refreshRevoked().catch((error: unknown) => logger.warn({ err: error }, "re-reading token revocations failed"));
    identity?.access.refreshSessions().catch((error: unknown) => logger.warn({ err: error }, "re-reading session revocations failed"));
  }, REVOCATION_REFRESH_MS);
  refresh.unref();

  offs.push(vault.onHeaderChanged(() => void publish("vault_changed", { reason: "header" })));
  offs.push(
    cluster.signals.subscribe("vault_changed", (_payload, meta) => {
      if (meta.fromSelf) return;
      vault.reloadFromStore().catch((error: unknown) => logger.error({ err: error }, "reloading the vault after another instance changed it failed"));
    }),
  );

  offs.push(vault.onSecretChanged((name) => void publish("vault_secret_changed", { name })));
  offs.push(
    cluster.signals.subscribe("vault_secret_changed", (payload, meta) => {
      if (!meta.fromSelf && typeof payload.name === "string") router.forgetCredentials(vaultCredentialRef(payload.name));
    }),
    // Signals lost while this instance was cut off may have named secrets: forget every cached credential.
    cluster.signals.onMissed(() => router.forgetCredentials()),
  );

  offs.push(verdicts.observe((serviceId, verdict) => void publish("health_verdict", { serviceId, verdict })));
  const adopt = (payload: Record<string, unknown>) => {
    const { serviceId, verdict } = payload;
    if (typeof serviceId !== "string") return;
    const value = verdict === "passing" || verdict === "failing" ? verdict : null;
    verdicts.adopt(serviceId, value);
    if (value !== null) router.reportHealth(serviceId, { ok: value === "passing" });
  };
  offs.push(cluster.signals.subscribe("health_verdict", (payload, meta) => (meta.fromSelf ? undefined : adopt(payload))));
  // What the checker concluded before this instance started.
  const loadVerdicts = async () => {
    for (const payload of (await cluster.signals.state("health_verdict")).values()) adopt(payload);
  };
  await loadVerdicts();
  // Signals this instance may have missed (cut off for longer than they are kept): read the state they carried again.
  offs.push(
    cluster.signals.onMissed(() => {
      const reload = async () => {
        await tokens.refreshRevoked();
        if (identity) {
          await identity.roles.load();
          await identity.access.loadAll();
        }
        await vault.reloadFromStore();
        await loadVerdicts();
      };
      reload().catch((error: unknown) => logger.warn({ err: error }, "reloading after missed cluster signals failed"));
    }),
  );

  return {
    stop() {
      clearInterval(refresh);
      for (const off of offs) off();
    },
  };
}
