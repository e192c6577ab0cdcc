/**
 * @module views/sign-in/SecondFactorStep
 * The second factor the node asked for (`mfa_required`): a code from the authenticator app, a recovery code, or a
 * passkey. Codes are checked with the protocol's own schemas before they are sent (a typo is told at once, and
 * does not count as a failed sign-in).
 */
import { useState, type FormEvent } from "react";
import { RecoveryCodeSchema, TotpCodeSchema } from "@kai/protocol";
import { useSession } from "../../app/session";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { describePasskeyError, passkeyAssertion, passkeysAvailable } from "./passkey";

export type SecondFactor = { code: string } | { recoveryCode: string } | { passkey: { challengeId: string; response: Record<string, unknown> } };

export function SecondFactorStep(props: { username: string; busy: boolean; onFactor(factor: SecondFactor): void; onError(error: unknown): void; onCancel(): void }) {
  const { connection } = useSession();
  const [kind, setKind] = useState<"code" | "recovery">("code");
  const [value, setValue] = useState("");
  const [invalid, setInvalid] = useState<string | undefined>(undefined);

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = value.trim();
    const parsed = kind === "code" ? TotpCodeSchema.safeParse(trimmed.replace(/\s+/g, "")) : RecoveryCodeSchema.safeParse(trimmed);
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? "not a valid code");
      return;
    }
    setInvalid(undefined);
    props.onFactor(kind === "code" ? { code: parsed.data } : { recoveryCode: parsed.data });
  }

  async function askPasskey() {
    try {
      const assertion = await passkeyAssertion(await connection.client.passkeys.signInOptions());
      props.onFactor({ passkey: assertion });
    } catch (failure) {
      props.onError(describePasskeyError(failure));
    }
  }

  return (
    <form onSubmit={submit} className="space-y-4" aria-labelledby="second-factor-title">
      <h2 id="second-factor-title" className="text-base font-semibold">
        Second factor for {props.username}
      </h2>
      <fieldset className="flex gap-4 text-sm">
        <legend className="sr-only">Kind of code</legend>
        <label className="flex items-center gap-1">
          <input type="radio" name="kind" checked={kind === "code"} onChange={() => setKind("code")} /> Use the authenticator app
        </label>
        <label className="flex items-center gap-1">
          <input type="radio" name="kind" checked={kind === "recovery"} onChange={() => setKind("recovery")} /> Use a recovery code
        </label>
      </fieldset>
      {kind === "code" ? (
        <TextField key="code" label="Authenticator code" name="code" inputMode="numeric" autoComplete="one-time-code" required autoFocus value={value} error={invalid} onChange={(event) => setValue(event.target.value)} />
      ) : (
        <TextField key="recovery" label="Recovery code" name="recoveryCode" autoComplete="off" required autoFocus value={value} error={invalid} hint="Each recovery code works once." onChange={(event) => setValue(event.target.value)} />
      )}
      <Button look="primary" type="submit" busy={props.busy} className="w-full justify-center">
        Verify
      </Button>
      {passkeysAvailable(connection.url) && (
        <Button className="w-full justify-center" busy={props.busy} onClick={() => void askPasskey()}>
          Use a passkey instead
        </Button>
      )}
      <Button className="w-full justify-center" onClick={props.onCancel}>
        Start over
      </Button>
    </form>
  );
}
