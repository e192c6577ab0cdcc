/**
 * @module views/vault/SecretValue
 * One secret's value, shown only when a person asks for it (each reveal is a read the vault audits) and hidden again
 * on request, after a minute, or when the row goes away. The value lives in this component's state only: never in
 * the query cache, the URL or storage.
 */
import { useEffect, useRef, useState } from "react";
import type { SecretValueResponse } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";

/** How long a revealed value stays on screen unless hidden sooner. */
const SHOWN_FOR_MS = 60_000;

export function SecretValue({ name, locked }: { name: string; locked: boolean }) {
  const client = useClient();
  const [value, setValue] = useState<SecretValueResponse>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [copied, setCopied] = useState(false);
  // Keyboard users keep their place: focus moves to Hide when the value appears, and back to Reveal when it goes.
  const hideRef = useRef<HTMLButtonElement>(null);
  const revealRef = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);

  useEffect(() => {
    if (asked.current) (value !== undefined ? hideRef : revealRef).current?.focus();
    setCopied(false);
  }, [value]);

  useEffect(() => {
    if (value === undefined) return;
    const timer = setTimeout(() => setValue(undefined), SHOWN_FOR_MS);
    return () => clearTimeout(timer);
  }, [value]);

  useEffect(() => {
    if (locked) setValue(undefined);
  }, [locked]);

  const reveal = async () => {
    asked.current = true;
    setBusy(true);
    setError(undefined);
    try {
      setValue(await client.vault.getSecret(name));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  if (value !== undefined) {
    return (
      <div className="space-y-1">
        <div className="flex items-center gap-2">
          <code data-testid={`secret-value-${name}`} className="break-all rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs dark:bg-slate-800">
            {value.value}
          </code>
          <Button ref={hideRef} aria-label={`Hide ${name}`} onClick={() => setValue(undefined)}>
            Hide
          </Button>
          {typeof navigator !== "undefined" && navigator.clipboard && (
            <Button aria-label={`Copy ${name}`} onClick={() => void navigator.clipboard.writeText(value.value).then(() => setCopied(true))}>
              {copied ? "Copied" : "Copy"}
            </Button>
          )}
        </div>
        <p className="text-xs text-slate-600 dark:text-slate-400">version {value.version}</p>
      </div>
    );
  }
  return (
    <div className="space-y-1">
      <Button ref={revealRef} aria-label={`Reveal ${name}`} busy={busy} disabled={locked} title={locked ? "Unlock the vault to reveal values" : "Shows the value; the read is written to the audit log"} onClick={() => void reveal()}>
        Reveal
      </Button>
      <ErrorNotice error={error} title="The value was not revealed" />
    </div>
  );
}
