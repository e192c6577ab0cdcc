/**
 * @module views/vault/VaultStatusPanel
 * The vault's state and its life cycle: initialise (passphrase, or the development key file), unlock with the
 * passphrase (or from the key file), lock, change the passphrase (rekey) and rotate the data key. The state is said in
 * words, never only by colour. Controls appear for `vault:admin` only; the vault refuses (and audits) anyone else.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { InitRequestSchema, RekeyRequestSchema, UnlockRequestSchema, type RotateResponse, type VaultStatus } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { useVaultAccess } from "./vault-access";
import { useRefreshVault } from "./vault-queries";

/** The first message of a zod failure, for the field that failed. */
function firstIssue(result: { success: boolean; error?: { issues: { message: string }[] } }): string | undefined {
  return result.success ? undefined : result.error?.issues[0]?.message;
}

function sealOf(status: VaultStatus): string {
  if (!status.initialized) return "not initialised";
  if (status.autoUnlock) return "development key file (vault.key)";
  const kdf = status.kdf;
  if (!kdf) return "passphrase";
  return `passphrase (${kdf.name}${kdf.hash ? `-${kdf.hash}` : ""}${kdf.iterations ? `, ${kdf.iterations.toLocaleString()} iterations` : ""})`;
}

export function stateWord(status: VaultStatus): "uninitialised" | "locked" | "unlocked" {
  if (!status.initialized) return "uninitialised";
  return status.locked ? "locked" : "unlocked";
}

export function VaultStatusPanel({ status }: { status: VaultStatus }) {
  const access = useVaultAccess();
  const word = stateWord(status);
  return (
    <Panel title="Status">
      <div className="space-y-4">
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="font-medium">State</dt>
          <dd>
            <span data-testid="vault-state">
              <Badge tone={word === "unlocked" ? "good" : word === "locked" ? "bad" : "warn"}>{word}</Badge>
            </span>
          </dd>
          <dt className="font-medium">Sealed by</dt>
          <dd>{sealOf(status)}</dd>
          <dt className="font-medium">Data key version</dt>
          <dd>{status.keyVersion ?? "—"}</dd>
          <dt className="font-medium">Secrets</dt>
          <dd>{status.secrets ?? "—"}</dd>
          <dt className="font-medium">Encryptions under this key</dt>
          <dd>{status.encryptionsUnderCurrentKey?.toLocaleString() ?? "—"}</dd>
          {status.unlockBackoffSeconds > 0 && (
            <>
              <dt className="font-medium">Next unlock attempt</dt>
              <dd>in {Math.ceil(status.unlockBackoffSeconds)} s (after wrong passphrases)</dd>
            </>
          )}
        </dl>
        {access.manage ? (
          <>
            {word === "uninitialised" && <InitForm />}
            {word === "locked" && <UnlockForm status={status} />}
            {word === "unlocked" && <UnlockedActions status={status} />}
          </>
        ) : (
          <p className="text-sm text-slate-700 dark:text-slate-300">Unlocking, locking and rotating need the vault:admin scope.</p>
        )}
      </div>
    </Panel>
  );
}

function InitForm() {
  const client = useClient();
  const refresh = useRefreshVault();
  const [passphrase, setPassphrase] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string>();
  const init = useMutation({ mutationFn: (value: string | undefined) => client.vault.init(value), onSuccess: refresh });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = InitRequestSchema.safeParse({ passphrase });
    setProblem(firstIssue(checked) ?? (passphrase !== repeat ? "the two passphrases differ" : undefined));
    if (checked.success && passphrase === repeat) init.mutate(passphrase);
  };
  return (
    <form onSubmit={submit} className="max-w-md space-y-3" aria-label="Initialise the vault">
      <p className="text-sm">The vault has not been set up. Choose a passphrase: it is needed to unlock the vault after every restart, and cannot be recovered.</p>
      <TextField label="New passphrase" type="password" autoComplete="new-password" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} error={problem} />
      <TextField label="Repeat the passphrase" type="password" autoComplete="new-password" value={repeat} onChange={(event) => setRepeat(event.target.value)} />
      <div className="flex flex-wrap gap-2">
        <Button type="submit" look="primary" busy={init.isPending}>
          Initialise with passphrase
        </Button>
        <Button busy={init.isPending} onClick={() => init.mutate(undefined)}>
          Use a development key file
        </Button>
      </div>
      <ErrorNotice error={init.error} title="The vault was not initialised" />
    </form>
  );
}

function UnlockForm({ status }: { status: VaultStatus }) {
  const client = useClient();
  const refresh = useRefreshVault();
  const [passphrase, setPassphrase] = useState("");
  const [problem, setProblem] = useState<string>();
  const unlock = useMutation({
    mutationFn: (value: string | undefined) => client.vault.unlock(value),
    onSuccess: () => {
      setPassphrase("");
      return refresh();
    },
    onSettled: () => refresh(),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = UnlockRequestSchema.safeParse({ passphrase });
    setProblem(passphrase === "" ? "enter the vault's passphrase" : firstIssue(checked));
    if (checked.success && passphrase !== "") unlock.mutate(passphrase);
  };
  if (status.autoUnlock) {
    return (
      <div className="space-y-2">
        <Button look="primary" busy={unlock.isPending} onClick={() => unlock.mutate(undefined)}>
          Unlock from key file
        </Button>
        <ErrorNotice error={unlock.error} title="The vault is still locked" />
      </div>
    );
  }
  return (
    <form onSubmit={submit} className="max-w-md space-y-3" aria-label="Unlock the vault">
      <TextField label="Passphrase" type="password" autoComplete="current-password" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} error={problem} />
      <Button type="submit" look="primary" busy={unlock.isPending}>
        Unlock
      </Button>
      <ErrorNotice error={unlock.error} title="The vault is still locked" />
    </form>
  );
}

function UnlockedActions({ status }: { status: VaultStatus }) {
  const client = useClient();
  const refresh = useRefreshVault();
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [rotated, setRotated] = useState<RotateResponse>();
  const [rekeyOpen, setRekeyOpen] = useState(false);
  const lock = useMutation({ mutationFn: () => client.vault.lock(), onSuccess: refresh });
  const rotate = useMutation({
    mutationFn: () => client.vault.rotate(),
    onSuccess: (result) => {
      setRotated(result);
      setConfirmRotate(false);
      return refresh();
    },
  });
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap gap-2">
        <Button look="danger" busy={lock.isPending} onClick={() => lock.mutate()}>
          Lock vault
        </Button>
        <Button onClick={() => setConfirmRotate(true)}>Rotate data key</Button>
        <Button aria-expanded={rekeyOpen} onClick={() => setRekeyOpen((open) => !open)}>
          {status.autoUnlock ? "Set a passphrase" : "Change passphrase"}
        </Button>
      </div>
      <ErrorNotice error={lock.error} title="The vault was not locked" />
      {rotated && (
        <p role="status" className="text-sm">
          Data key version {rotated.keyVersion}: {rotated.reencrypted} secret{rotated.reencrypted === 1 ? "" : "s"} re-encrypted
          {rotated.skipped.length > 0 ? `; ${rotated.skipped.length} failed their integrity check and were left as they were (see the log)` : ""}.
        </p>
      )}
      {rekeyOpen && <RekeyForm onDone={() => setRekeyOpen(false)} />}
      {/* Mounted only while asked: ConfirmDialog's heading id is fixed, and the page has other dialogs. */}
      {confirmRotate && (
      <ConfirmDialog
        open={confirmRotate}
        title="Rotate the data key?"
        confirmLabel="Rotate"
        busy={rotate.isPending}
        onConfirm={() => rotate.mutate()}
        onCancel={() => setConfirmRotate(false)}
      >
        <p>A new data-key version is made and every secret is re-encrypted under it. Secret values do not change.</p>
        <ErrorNotice error={rotate.error} title="The key was not rotated" />
      </ConfirmDialog>
      )}
    </div>
  );
}

function RekeyForm({ onDone }: { onDone(): void }) {
  const client = useClient();
  const refresh = useRefreshVault();
  const [passphrase, setPassphrase] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string>();
  const rekey = useMutation({
    mutationFn: (value: string) => client.vault.rekey(value),
    onSuccess: async () => {
      await refresh();
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = RekeyRequestSchema.safeParse({ newPassphrase: passphrase });
    setProblem(firstIssue(checked) ?? (passphrase !== repeat ? "the two passphrases differ" : undefined));
    if (checked.success && passphrase === repeat) rekey.mutate(passphrase);
  };
  return (
    <form onSubmit={submit} className="max-w-md space-y-3" aria-label="Change the vault passphrase">
      <p className="text-sm">The keyring is sealed again under the new passphrase; secrets are not touched. Keep it safe: it cannot be recovered.</p>
      <TextField label="New passphrase" type="password" autoComplete="new-password" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} error={problem} />
      <TextField label="Repeat the new passphrase" type="password" autoComplete="new-password" value={repeat} onChange={(event) => setRepeat(event.target.value)} />
      <Button type="submit" look="primary" busy={rekey.isPending}>
        Save passphrase
      </Button>
      <ErrorNotice error={rekey.error} title="The passphrase was not changed" />
    </form>
  );
}
