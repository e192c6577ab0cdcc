/**
 * @module views/vault
 * The Vault page: its state and life cycle (VaultStatusPanel), the secrets by name with values revealed only on
 * purpose (SecretsPanel), who may use it (PoliciesPanel) and, for admins, the audit log with its chain verified
 * (AuditPanel). Everything goes through `client.vault` and is checked again, and audited, by the node.
 */
import { Page } from "../../components/Page";
import { ErrorNotice } from "../../components/ErrorNotice";
import { AuditPanel } from "./AuditPanel";
import { PoliciesPanel } from "./PoliciesPanel";
import { SecretsPanel } from "./SecretsPanel";
import { VaultStatusPanel } from "./VaultStatusPanel";
import { useVaultAccess } from "./vault-access";
import { useVaultStatus } from "./vault-queries";

export default function VaultPage() {
  const status = useVaultStatus();
  const access = useVaultAccess();
  return (
    <Page title="Vault">
      <ErrorNotice error={status.error} title="The vault's state could not be read" />
      {status.isPending && <p role="status">Reading the vault&apos;s state…</p>}
      {status.data && (
        <>
          <VaultStatusPanel status={status.data} />
          {status.data.initialized && access.read && <SecretsPanel locked={status.data.locked} />}
          <PoliciesPanel />
          {access.audit && <AuditPanel />}
        </>
      )}
    </Page>
  );
}
