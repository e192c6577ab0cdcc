/**
 * @module views/sign-in/SignInPage
 * Signing in: username and password (cookie session in the tab, token session in the extension). Second factors
 * (TOTP, recovery code, passkey), a forced password change and single sign-on are added in this folder.
 */
import { useState, type FormEvent } from "react";
import { useSession } from "../../app/session";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";

export function SignInPage({ ended = false }: { ended?: boolean }) {
  const { connection, refreshIdentity } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await connection.client.auth.login({ username, password, mode: connection.mode });
      await refreshIdentity();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-50 p-4 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <form onSubmit={(event) => void submit(event)} className="w-full max-w-sm space-y-4 rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-700 dark:bg-slate-900" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title" className="text-xl font-semibold">
          Sign in to kAI
        </h1>
        {ended && <p role="status" className="text-sm">Your session ended. Sign in again.</p>}
        <TextField label="Username" name="username" autoComplete="username" required value={username} onChange={(event) => setUsername(event.target.value)} />
        <TextField label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
        <ErrorNotice error={error} title="Could not sign in" />
        <Button look="primary" type="submit" busy={busy} className="w-full justify-center">
          Sign in
        </Button>
      </form>
    </main>
  );
}
