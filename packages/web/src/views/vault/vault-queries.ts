/**
 * @module views/vault/vault-queries
 * The vault's server data in the React Query cache, under the `["vault", …]` keys. Secret VALUES are never cached:
 * a reveal calls the SDK directly and keeps the value only in the row that asked for it (SecretValue).
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { AuditQueryInput } from "@kai/sdk";
import { useClient } from "../../app/session";

export const vaultKeys = {
  all: ["vault"] as const,
  status: ["vault", "status"] as const,
  secrets: ["vault", "secrets"] as const,
  audit: (query: AuditQueryInput) => ["vault", "audit", query] as const,
  verify: ["vault", "audit-verify"] as const,
  roles: ["vault", "roles"] as const,
  tokens: ["vault", "tokens"] as const,
};

export function useVaultStatus() {
  const client = useClient();
  return useQuery({ queryKey: vaultKeys.status, queryFn: () => client.vault.status(), refetchInterval: 10_000 });
}

export function useSecrets(enabled: boolean) {
  const client = useClient();
  return useQuery({ queryKey: vaultKeys.secrets, queryFn: () => client.vault.listSecrets(), enabled });
}

/** After any change: status, names, policies and the audit log (every call writes an entry) are read again. */
export function useRefreshVault() {
  const queries = useQueryClient();
  return () => queries.invalidateQueries({ queryKey: vaultKeys.all });
}
