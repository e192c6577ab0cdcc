/**
 * @module views/vault/SecretForm
 * Stores a secret, or a new version of one (rotating its value: the old versions are kept up to the vault's retention
 * count). Validated with the protocol's SecretNameSchema and PutSecretRequestSchema before anything is sent. The value
 * field is a password field and is emptied once the vault has it.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { PutSecretRequestSchema, SecretNameSchema, type SecretInfo } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { useRefreshVault } from "./vault-queries";

type Problems = Partial<Record<"name" | "value" | "description" | "expiresAt", string>>;

export interface SecretFormProps {
  /** A new version of this secret (its name fixed); absent: a new secret. */
  existing?: SecretInfo;
  onDone(saved: SecretInfo): void;
  onCancel?(): void;
}

export function SecretForm({ existing, onDone, onCancel }: SecretFormProps) {
  const client = useClient();
  const refresh = useRefreshVault();
  const [name, setName] = useState(existing?.name ?? "");
  const [value, setValue] = useState("");
  const [description, setDescription] = useState(existing?.description ?? "");
  const [expires, setExpires] = useState("");
  const [problems, setProblems] = useState<Problems>({});
  // The form opens from a button: focus goes to its first field, where the person will type.
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    formRef.current?.querySelector("input")?.focus();
  }, []);
  const save = useMutation({
    mutationFn: (input: { name: string; body: { value: string; description?: string; expiresAt?: string } }) => {
      const { value: secret, ...options } = input.body;
      return client.vault.putSecret(input.name, secret, options);
    },
    onSuccess: async (saved) => {
      setValue("");
      await refresh();
      onDone(saved);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Problems = {};
    const checkedName = SecretNameSchema.safeParse(name);
    if (!checkedName.success) found.name = checkedName.error.issues[0]?.message;
    let expiresAt: string | undefined;
    if (expires !== "") {
      const at = new Date(expires);
      if (Number.isNaN(at.getTime())) found.expiresAt = "not a date and time";
      else if (at.getTime() <= Date.now()) found.expiresAt = "must be in the future";
      else expiresAt = at.toISOString();
    }
    const body = { value, ...(description !== "" ? { description } : {}), ...(expiresAt ? { expiresAt } : {}) };
    const checked = PutSecretRequestSchema.safeParse(body);
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const field = issue.path[0] as keyof Problems;
        found[field] ??= field === "value" && value === "" ? "enter the value" : issue.message;
      }
    }
    setProblems(found);
    if (Object.keys(found).length === 0 && checked.success) save.mutate({ name, body: checked.data });
  };

  const title = existing ? `New version of ${existing.name}` : "Store a secret";
  return (
    <form ref={formRef} onSubmit={submit} noValidate aria-label={title} className="max-w-lg space-y-3">
      <h3 className="text-sm font-semibold">{title}</h3>
      {!existing && (
        <TextField label="Secret name" value={name} onChange={(event) => setName(event.target.value)} error={problems.name} hint="Path segments, e.g. openai/prod" autoComplete="off" spellCheck={false} />
      )}
      <TextField label="Value" type="password" autoComplete="new-password" value={value} onChange={(event) => setValue(event.target.value)} error={problems.value} />
      <TextField label="Description" value={description} onChange={(event) => setDescription(event.target.value)} error={problems.description} hint="Not secret: shown in listings" />
      <TextField label="Expires at" type="datetime-local" value={expires} onChange={(event) => setExpires(event.target.value)} error={problems.expiresAt} hint="Optional; an expired secret can no longer be read" />
      <div className="flex gap-2">
        <Button type="submit" look="primary" busy={save.isPending}>
          {existing ? "Save new version" : "Store secret"}
        </Button>
        {onCancel && <Button onClick={onCancel}>Cancel</Button>}
      </div>
      <ErrorNotice error={save.error} title="The secret was not stored" />
    </form>
  );
}
