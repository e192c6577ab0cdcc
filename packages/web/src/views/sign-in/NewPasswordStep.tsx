/**
 * @module views/sign-in/NewPasswordStep
 * The node asked for a new password (`password_change_required`: the first admin's one-time password, or one an
 * administrator reset). Checked with the protocol's PasswordSchema and typed twice before it is sent.
 */
import { useState, type FormEvent } from "react";
import { PasswordSchema } from "@kai/protocol";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";

export function NewPasswordStep(props: { busy: boolean; onNewPassword(password: string): void; onCancel(): void }) {
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<{ password?: string; again?: string }>({});

  function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = PasswordSchema.safeParse(password);
    if (!parsed.success) return setProblem({ password: parsed.error.issues[0]?.message ?? "not a valid password" });
    if (again !== password) return setProblem({ again: "the two passwords differ" });
    setProblem({});
    props.onNewPassword(parsed.data);
  }

  return (
    <form onSubmit={submit} className="space-y-4" aria-labelledby="new-password-title">
      <h2 id="new-password-title" className="text-base font-semibold">
        Choose a new password
      </h2>
      <p className="text-sm">This password was for one sign-in only. Choose your own: at least 12 characters.</p>
      <TextField label="New password" name="newPassword" type="password" autoComplete="new-password" required value={password} error={problem.password} onChange={(event) => setPassword(event.target.value)} />
      <TextField label="New password again" name="newPasswordAgain" type="password" autoComplete="new-password" required value={again} error={problem.again} onChange={(event) => setAgain(event.target.value)} />
      <Button look="primary" type="submit" busy={props.busy} className="w-full justify-center">
        Set password and sign in
      </Button>
      <Button className="w-full justify-center" onClick={props.onCancel}>
        Start over
      </Button>
    </form>
  );
}
