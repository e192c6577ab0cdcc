/**
 * @module views/backups/passphrase
 * The backup passphrase as the page handles it: an uncontrolled password field, read from the form only when the
 * request is made and emptied as soon as it is answered. It is never in React state, the query cache (a mutation's
 * variables), the address or storage, and never logged: a passphrase opens every backup taken with it.
 */
import { VerifyBackupRequestSchema } from "@kai/protocol";
import { TextField } from "../../components/Field";

const NAME = "passphrase";

export function PassphraseField({ label, error, disabled }: { label: string; error: string | undefined; disabled: boolean }) {
  return (
    <TextField
      label={label}
      name={NAME}
      type="password"
      autoComplete="off"
      spellCheck={false}
      disabled={disabled}
      error={error}
      hint="Optional: empty uses the node's backup.passphrase (or backup.passphraseSecret). At least 8 characters. Used for this request only, kept nowhere."
    />
  );
}

function inputOf(form: HTMLFormElement | null): HTMLInputElement | undefined {
  const input = form?.elements.namedItem(NAME);
  return input instanceof HTMLInputElement ? input : undefined;
}

/** The passphrase typed in `form`, or undefined when the field is empty (the node's own is used). */
export function readPassphrase(form: HTMLFormElement | null): string | undefined {
  const value = inputOf(form)?.value ?? "";
  return value === "" ? undefined : value;
}

/** Why the typed passphrase would be refused (the protocol's own rule), or undefined when it would not. */
export function passphraseProblem(form: HTMLFormElement | null): string | undefined {
  const checked = VerifyBackupRequestSchema.safeParse({ passphrase: readPassphrase(form) });
  // The protocol's rule (8 to 1,024 characters) in the page's words; zod's own message names no field.
  return checked.success ? undefined : "The passphrase needs 8 to 1,024 characters (or leave it empty to use the node's).";
}

/** Empties the field once the request it was read for is answered. */
export function clearPassphrase(form: HTMLFormElement | null): void {
  const input = inputOf(form);
  if (input) input.value = "";
}

/** A turning circle beside a long request's words (still when people ask for less motion). */
export function Spinner() {
  return <span aria-hidden="true" className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-current border-t-transparent motion-reduce:animate-none" />;
}
