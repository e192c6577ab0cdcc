/**
 * @module views/settings/SecurityPanel
 * The person's second factors: what is enrolled; setting up an authenticator app (QR code and secret shown once,
 * confirmed with a first code; the first factor brings recovery codes, shown once); adding a passkey through the
 * browser; the passkeys listed, each removable. Once the person has a factor, changing them needs proof of one (any
 * factor they hold: factor-proof.tsx): a stolen session alone cannot add an attacker's factor.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { TotpCodeSchema, type TotpEnrolResponse } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { Badge } from "../../components/Badge";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";
import { describePasskeyError, passkeyCredential, passkeysAvailable } from "../sign-in/passkey";
import { useFactorProof } from "./factor-proof";
import { PASSKEYS_QUERY, PasskeyList } from "./PasskeyList";

function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <div role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-700 dark:bg-amber-950">
      <p className="font-medium">Your recovery codes, shown only this once. Keep them somewhere safe; each works once.</p>
      <ul aria-label="Recovery codes" className="mt-2 grid grid-cols-2 gap-1 font-mono text-xs">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
    </div>
  );
}

export function SecurityPanel() {
  const client = useClient();
  const queries = useQueryClient();
  const status = useQuery({ queryKey: ["settings", "mfa"], queryFn: () => client.mfa.status() });
  const [enrolment, setEnrolment] = useState<TotpEnrolResponse | null>(null);
  const [code, setCode] = useState("");
  const [codeError, setCodeError] = useState<string | undefined>(undefined);
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const refresh = () => queries.invalidateQueries({ queryKey: ["settings", "mfa"] });
  const proof = useFactorProof(client, status.data);

  const enrol = useMutation({ mutationFn: async () => client.mfa.totp.enrol(await proof.get()), onSuccess: (started) => setEnrolment(started) });
  const confirm = useMutation({
    mutationFn: (first: string) => client.mfa.totp.confirm(first),
    onSuccess: async (done) => {
      setEnrolment(null);
      setCode("");
      if (done.recoveryCodes) setRecoveryCodes(done.recoveryCodes);
      await refresh();
    },
  });
  const addPasskey = useMutation({
    mutationFn: async () => {
      const options = await client.passkeys.registrationOptions(await proof.get());
      const credential = await passkeyCredential(options).catch((failure: unknown) => {
        throw describePasskeyError(failure);
      });
      return client.passkeys.register({ ...credential, name: navigator.userAgent.includes("Mobile") ? "phone" : "this browser" });
    },
    onSuccess: async (registered) => {
      if (registered.recoveryCodes) setRecoveryCodes(registered.recoveryCodes);
      await Promise.all([refresh(), queries.invalidateQueries({ queryKey: PASSKEYS_QUERY })]);
    },
  });

  function submitCode(event: FormEvent) {
    event.preventDefault();
    const parsed = TotpCodeSchema.safeParse(code.replace(/\s+/g, ""));
    if (!parsed.success) return setCodeError(parsed.error.issues[0]?.message);
    setCodeError(undefined);
    confirm.mutate(parsed.data);
  }

  return (
    <Panel title="Second factors">
      <div className="space-y-3">
        <ErrorNotice error={status.error ?? enrol.error ?? confirm.error ?? addPasskey.error} />
        {status.data && (
          <p className="flex flex-wrap items-center gap-2 text-sm">
            <Badge tone={status.data.totp.confirmed ? "good" : "neutral"}>{status.data.totp.confirmed ? "authenticator app on" : "no authenticator app"}</Badge>
            <Badge tone={status.data.passkeys > 0 ? "good" : "neutral"}>{`${status.data.passkeys} passkey${status.data.passkeys === 1 ? "" : "s"}`}</Badge>
            <Badge>{`${status.data.recoveryCodesLeft} recovery codes left`}</Badge>
            {status.data.mustEnrol && <Badge tone="warn">your role requires a second factor</Badge>}
          </p>
        )}
        {recoveryCodes && <RecoveryCodes codes={recoveryCodes} />}
        {proof.controls}
        {(status.data?.passkeys ?? 0) > 0 && <PasskeyList client={client} proof={proof.get} onChanged={refresh} />}
        {enrolment ? (
          <form onSubmit={submitCode} aria-label="Confirm the authenticator app" className="space-y-3">
            <img src={enrolment.qrCode} alt="QR code to scan with the authenticator app" className="h-40 w-40 bg-white p-1" />
            <p className="text-sm">
              Or type this secret: <code className="font-mono text-xs">{enrolment.secret}</code>
            </p>
            <TextField label="First code from the app" inputMode="numeric" autoComplete="one-time-code" value={code} error={codeError} onChange={(event) => setCode(event.target.value)} />
            <Button look="primary" type="submit" busy={confirm.isPending}>
              Turn on
            </Button>
          </form>
        ) : (
          <div className="flex flex-wrap gap-2">
            {!status.data?.totp.confirmed && (
              <Button busy={enrol.isPending} onClick={() => enrol.mutate()}>
                Set up an authenticator app
              </Button>
            )}
            {passkeysAvailable(client.url) && (
              <Button busy={addPasskey.isPending} onClick={() => addPasskey.mutate()}>
                Add a passkey
              </Button>
            )}
          </div>
        )}
      </div>
    </Panel>
  );
}
