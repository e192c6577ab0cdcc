/**
 * @module views/vault/SecretsPanel
 * The vault's secrets by name: version and the versions kept, description, who changed and last used each, expiry.
 * Names and metadata are readable while the vault is locked; values are not, and are shown only one at a time on
 * purpose (SecretValue). Storing, new versions and deleting appear for sessions with vault:write.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import type { SecretInfo } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { SecretForm } from "./SecretForm";
import { SecretValue } from "./SecretValue";
import { useVaultAccess } from "./vault-access";
import { useRefreshVault, useSecrets } from "./vault-queries";

const CELL = "px-2 py-1.5 align-top";

export function SecretsPanel({ locked }: { locked: boolean }) {
  const access = useVaultAccess();
  const secrets = useSecrets(access.read);
  const client = useClient();
  const refresh = useRefreshVault();
  const [adding, setAdding] = useState(false);
  const [versioning, setVersioning] = useState<SecretInfo>();
  const [deleting, setDeleting] = useState<SecretInfo>();
  const [saved, setSaved] = useState<string>();
  const remove = useMutation({
    mutationFn: (name: string) => client.vault.deleteSecret(name),
    onSuccess: async (_done, name) => {
      setDeleting(undefined);
      setSaved(`Deleted ${name} and all its versions.`);
      await refresh();
    },
  });

  const done = (info: SecretInfo) => {
    setAdding(false);
    setVersioning(undefined);
    setSaved(`Stored ${info.name}, version ${info.version}.`);
  };

  return (
    <Panel title="Secrets">
      <div className="space-y-3">
        {access.write && !adding && !versioning && (
          <Button look="primary" disabled={locked} title={locked ? "Unlock the vault to store secrets" : undefined} onClick={() => setAdding(true)}>
            Store a secret
          </Button>
        )}
        {adding && <SecretForm onDone={done} onCancel={() => setAdding(false)} />}
        {versioning && <SecretForm key={versioning.name} existing={versioning} onDone={done} onCancel={() => setVersioning(undefined)} />}
        {saved && (
          <p role="status" className="text-sm">
            {saved}
          </p>
        )}
        {locked && <p className="text-sm">The vault is locked: names are listed, values cannot be read or stored until it is unlocked.</p>}
        <ErrorNotice error={secrets.error} title="The secrets could not be listed" />
        {secrets.isPending && <p role="status">Loading secrets…</p>}
        {secrets.data && secrets.data.length === 0 && <p className="text-sm">No secrets yet{access.write ? "." : " that this session may see."}</p>}
        {secrets.data && secrets.data.length > 0 && (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" aria-label="Secrets">
              <thead className="border-b border-slate-200 dark:border-slate-700">
                <tr>
                  <th scope="col" className={CELL}>Name</th>
                  <th scope="col" className={CELL}>Version</th>
                  <th scope="col" className={CELL}>Versions kept</th>
                  <th scope="col" className={CELL}>Updated</th>
                  <th scope="col" className={CELL}>Last used</th>
                  <th scope="col" className={CELL}>Expires</th>
                  <th scope="col" className={CELL}>Value</th>
                  {access.write && <th scope="col" className={CELL}>Actions</th>}
                </tr>
              </thead>
              <tbody>
                {secrets.data.map((secret) => (
                  <tr key={secret.name} className="border-b border-slate-100 dark:border-slate-800">
                    <th scope="row" className={`${CELL} font-mono font-normal`}>
                      {secret.name}
                      {secret.description && <p className="font-sans text-xs text-slate-600 dark:text-slate-400">{secret.description}</p>}
                    </th>
                    <td className={CELL}>{secret.version}</td>
                    <td className={CELL}>{secret.versions.join(", ")}</td>
                    <td className={CELL}>
                      <When at={secret.updatedAt} /> <span className="text-xs">by {secret.updatedBy}</span>
                    </td>
                    <td className={CELL}>
                      <When at={secret.lastUsedAt} />
                      {secret.lastUsedBy && <span className="text-xs"> by {secret.lastUsedBy}</span>}
                    </td>
                    <td className={CELL}>
                      {secret.expired ? <Badge tone="bad">expired</Badge> : <When at={secret.expiresAt} never="no expiry" />}
                    </td>
                    <td className={CELL}>{secret.expired ? "—" : <SecretValue name={secret.name} locked={locked} />}</td>
                    {access.write && (
                      <td className={`${CELL} whitespace-nowrap`}>
                        <div className="flex gap-2">
                          <Button aria-label={`New version of ${secret.name}`} disabled={locked} onClick={() => { setAdding(false); setVersioning(secret); }}>
                            New version
                          </Button>
                          <Button look="danger" aria-label={`Delete ${secret.name}`} onClick={() => setDeleting(secret)}>
                            Delete
                          </Button>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete ${deleting.name}?`}
          confirmLabel="Delete secret"
          busy={remove.isPending}
          onConfirm={() => remove.mutate(deleting.name)}
          onCancel={() => {
            remove.reset();
            setDeleting(undefined);
          }}
        >
          <p>All {deleting.versions.length} kept version{deleting.versions.length === 1 ? "" : "s"} are deleted. Services using this credential stop working.</p>
          <ErrorNotice error={remove.error} title="The secret was not deleted" />
        </ConfirmDialog>
      )}
    </Panel>
  );
}
