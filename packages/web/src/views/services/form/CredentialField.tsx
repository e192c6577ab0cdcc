/**
 * @module views/services/form/CredentialField
 * Chooses a service's credential reference: a secret from the vault (`vault:<name>`, names listed through
 * `client.vault.listSecrets`, never values), or an environment variable of the node (`env:NAME`). The registry
 * stores only the reference, so the form never asks for the credential itself. A session that may not read the
 * vault, or a locked vault, still gets the environment choice and keeps whatever reference the record has.
 */
import { useQuery } from "@tanstack/react-query";
import { useCan, useClient } from "../../../app/session";
import { describeError } from "../../../components/ErrorNotice";
import { SelectField, TextField } from "../../../components/Field";

const ENV = "env:";
const VAULT = "vault:";
const CHOOSE_ENV = "__env__";

export interface CredentialFieldProps {
  label: string;
  value: string;
  error?: string | undefined;
  onChange(value: string): void;
}

export function CredentialField({ label, value, error, onChange }: CredentialFieldProps) {
  const client = useClient();
  const mayRead = useCan("vault:read");
  const secrets = useQuery({
    queryKey: ["vault", "secrets"],
    queryFn: () => client.vault.listSecrets(),
    enabled: mayRead,
    retry: false,
  });
  const names = (secrets.data ?? []).map((secret) => secret.name);
  const isEnv = value.startsWith(ENV);
  const selected = isEnv ? CHOOSE_ENV : value;
  // The record's own vault reference stays selectable even when the list cannot show it (locked, no scope).
  const vaultChoices = value.startsWith(VAULT) && !names.includes(value.slice(VAULT.length)) ? [value.slice(VAULT.length), ...names] : names;

  let hint: string;
  if (!mayRead) hint = "Your role cannot list the vault's secrets; an environment variable of the node is still possible.";
  else if (secrets.isPending) hint = "Loading the vault's secret names…";
  else if (secrets.isError) hint = `The vault's secrets could not be listed (${describeError(secrets.error).code ?? describeError(secrets.error).message}).`;
  else if (names.length === 0) hint = "The vault holds no secrets yet; add one on the Vault page, or use an environment variable.";
  else hint = "Only the reference is stored; the secret stays in the vault.";

  return (
    <div className="space-y-2">
      <SelectField label={label} value={selected} error={error} hint={hint} onChange={(event) => onChange(event.target.value === CHOOSE_ENV ? ENV : event.target.value)}>
        <option value="">No credential</option>
        {vaultChoices.map((name) => (
          <option key={name} value={`${VAULT}${name}`}>
            Vault secret: {name}
          </option>
        ))}
        <option value={CHOOSE_ENV}>Environment variable of the node…</option>
      </SelectField>
      {isEnv && (
        <TextField
          label="Environment variable name"
          value={value.slice(ENV.length)}
          placeholder="OPENAI_API_KEY"
          onChange={(event) => onChange(`${ENV}${event.target.value}`)}
        />
      )}
    </div>
  );
}
