/**
 * @module views/vault/vault-access
 * What the signed-in session may do with the vault, as the server decides it (packages/server/src/vault): `vault:read`
 * lists names and reveals values, `vault:write` stores and deletes, `vault:admin` (which holds both) unlocks, locks,
 * rekeys and rotates, `admin` reads the audit log. The app's `hasScope` knows only that `admin` holds everything, so the
 * vault's own implication lives here. Hiding a control is for clarity; the vault checks (and audits) every call itself.
 */
import { useSession, hasScope } from "../../app/session";

export interface VaultAccess {
  read: boolean;
  write: boolean;
  manage: boolean;
  audit: boolean;
}

export function useVaultAccess(): VaultAccess {
  const { state } = useSession();
  const me = state.status === "signed-in" ? state.me : undefined;
  const manage = hasScope(me, "vault:admin");
  return {
    read: manage || hasScope(me, "vault:read"),
    write: manage || hasScope(me, "vault:write"),
    manage,
    audit: hasScope(me, "admin"),
  };
}
