/**
 * @module views/sign-in/SignInPage
 * Signing in (cookie session in the tab, token session in the extension), in the order the node asks for things:
 * username and password; then, when the node answers `mfa_required`, a second factor (authenticator code, recovery
 * code or passkey); when it answers `password_change_required` (a one-time or reset password), a new password.
 * Besides: a passkey alone (passwordless) and single sign-on. Each step sends the whole sign-in again with what it
 * adds, as the API expects; the password is kept in this component's state only for that, never stored.
 */
import { useState, type FormEvent } from "react";
import { KaiApiError, type LoginRequestInput } from "@kai/sdk";
import { useSession } from "../../app/session";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SecondFactorStep, type SecondFactor } from "./SecondFactorStep";
import { NewPasswordStep } from "./NewPasswordStep";
import { SsoButtons, takeSsoError } from "./SsoButtons";
import { describePasskeyError, passkeyAssertion, passkeysAvailable } from "./passkey";

type Step = "password" | "second-factor" | "new-password";

/** The SSO refusal the node sent the browser back with, read once per page load. */
function initialSsoError(): KaiApiError | null {
  const refused = takeSsoError();
  return refused ? new KaiApiError({ status: 401, code: refused.code, message: refused.message }) : null;
}

export function SignInPage({ ended = false }: { ended?: boolean }) {
  const { connection, refreshIdentity } = useSession();
  const [step, setStep] = useState<Step>("password");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [factor, setFactor] = useState<SecondFactor | undefined>(undefined);
  const [error, setError] = useState<unknown>(initialSsoError);
  const [busy, setBusy] = useState(false);
  const client = connection.client;

  /** Sends the sign-in with what the steps gathered; moves to the step the node asks for next. */
  async function attempt(extra: { factor?: SecondFactor; newPassword?: string } = {}) {
    setBusy(true);
    setError(null);
    const chosen = extra.factor ?? factor;
    const request: LoginRequestInput = { username, password, mode: connection.mode, ...(chosen ?? {}), ...(extra.newPassword ? { newPassword: extra.newPassword } : {}) };
    try {
      await client.auth.login(request);
      await refreshIdentity();
    } catch (failure) {
      if (failure instanceof KaiApiError && failure.code === "mfa_required") {
        setStep("second-factor");
      } else if (failure instanceof KaiApiError && failure.code === "password_change_required") {
        // The factor just given was accepted with the password: keep it for the retry with the new password.
        if (chosen) setFactor(chosen);
        setStep("new-password");
      } else {
        setError(failure);
      }
    } finally {
      setBusy(false);
    }
  }

  async function passwordless() {
    setBusy(true);
    setError(null);
    try {
      const assertion = await passkeyAssertion(await client.passkeys.signInOptions()).catch((failure: unknown) => {
        throw describePasskeyError(failure);
      });
      await client.passkeys.signIn({ ...assertion, mode: connection.mode });
      await refreshIdentity();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  function startOver() {
    setStep("password");
    setPassword("");
    setFactor(undefined);
    setError(null);
  }

  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-50 p-4 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <div className="w-full max-w-sm space-y-4 rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-700 dark:bg-slate-900">
        <h1 id="sign-in-title" className="text-xl font-semibold">
          Sign in to kAI
        </h1>
        {ended && step === "password" && <p role="status" className="text-sm">Your session ended. Sign in again.</p>}
        {step === "password" && (
          <PasswordStep
            username={username}
            password={password}
            busy={busy}
            onUsername={setUsername}
            onPassword={setPassword}
            onSubmit={() => void attempt()}
          />
        )}
        {step === "second-factor" && (
          <SecondFactorStep username={username} busy={busy} onFactor={(chosen) => void attempt({ factor: chosen })} onError={setError} onCancel={startOver} />
        )}
        {step === "new-password" && <NewPasswordStep busy={busy} onNewPassword={(newPassword) => void attempt({ newPassword })} onCancel={startOver} />}
        <ErrorNotice error={error} title="Could not sign in" />
        {step === "password" && passkeysAvailable(connection.url) && (
          <Button className="w-full justify-center" busy={busy} onClick={() => void passwordless()}>
            Sign in with a passkey
          </Button>
        )}
        {step === "password" && <SsoButtons />}
      </div>
    </main>
  );
}

function PasswordStep(props: { username: string; password: string; busy: boolean; onUsername(value: string): void; onPassword(value: string): void; onSubmit(): void }) {
  function submit(event: FormEvent) {
    event.preventDefault();
    props.onSubmit();
  }
  return (
    <form onSubmit={submit} className="space-y-4" aria-labelledby="sign-in-title">
      <TextField label="Username" name="username" autoComplete="username webauthn" required value={props.username} onChange={(event) => props.onUsername(event.target.value)} />
      <TextField label="Password" name="password" type="password" autoComplete="current-password" required value={props.password} onChange={(event) => props.onPassword(event.target.value)} />
      <Button look="primary" type="submit" busy={props.busy} className="w-full justify-center">
        Sign in
      </Button>
    </form>
  );
}
