/**
 * @module views/access/UsersPanel
 * Users (administrators only; the node refuses anyone else): the list, creating a person with a temporary
 * password, and per user: roles, disabling or enabling, a password reset, resetting their second factors, their
 * sessions (ending one), deleting them. Changes apply to the user's live sessions and tokens at once (the node
 * caps every request by the user's current roles).
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CreateUserRequestSchema, PasswordSchema, type User } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { Badge } from "../../components/Badge";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SessionRows } from "./SessionsPanel";
import { When } from "../../components/When";
import { CELL, CheckList, Table, fieldErrors } from "./shared";

const KEY = ["access", "users"] as const;

function useRoleNames(): string[] {
  const client = useClient();
  return useQuery({ queryKey: ["access", "roles"], queryFn: () => client.roles.list() }).data?.map((role) => role.name) ?? [];
}

function CreateUserForm() {
  const client = useClient();
  const queries = useQueryClient();
  const roleNames = useRoleNames();
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<string[]>(["viewer"]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: (input: Parameters<typeof client.users.create>[0]) => client.users.create(input),
    onSuccess: async () => {
      setUsername("");
      setDisplayName("");
      setPassword("");
      await queries.invalidateQueries({ queryKey: KEY });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = CreateUserRequestSchema.safeParse({ username, roles, mustChangePassword: password !== "", ...(displayName ? { displayName } : {}), ...(password ? { password } : {}) });
    if (!parsed.success) return setErrors(fieldErrors(parsed.error));
    setErrors({});
    create.mutate(parsed.data);
  }
  return (
    <form onSubmit={submit} aria-label="Create a user" className="space-y-3 rounded-md border border-dashed border-slate-300 p-3 dark:border-slate-600">
      <div className="grid gap-3 sm:grid-cols-3">
        <TextField label="New username" value={username} onChange={(event) => setUsername(event.target.value)} error={errors.username} autoComplete="off" />
        <TextField label="Display name" value={displayName} onChange={(event) => setDisplayName(event.target.value)} error={errors.displayName} />
        <TextField label="Temporary password" type="password" value={password} onChange={(event) => setPassword(event.target.value)} error={errors.password} autoComplete="new-password" hint="They choose their own at first sign-in. Empty: passkey or SSO only." />
      </div>
      <CheckList legend="Roles of the new user" options={roleNames} chosen={roles} onChange={setRoles} />
      <ErrorNotice error={create.error} />
      <Button look="primary" type="submit" busy={create.isPending}>
        Create user
      </Button>
    </form>
  );
}

function UserDetails({ user }: { user: User }) {
  const client = useClient();
  const queries = useQueryClient();
  const roleNames = useRoleNames();
  const [roles, setRoles] = useState<string[]>(user.roles);
  const [password, setPassword] = useState("");
  const [passwordError, setPasswordError] = useState<string | undefined>(undefined);
  const [confirm, setConfirm] = useState<"delete" | "mfa" | null>(null);
  const sessions = useQuery({ queryKey: ["access", "user-sessions", user.id], queryFn: () => client.users.sessions(user.id) });
  const done = () => queries.invalidateQueries({ queryKey: ["access"] });
  const update = useMutation({ mutationFn: (patch: Parameters<typeof client.users.update>[1]) => client.users.update(user.id, patch), onSuccess: done });
  const remove = useMutation({ mutationFn: () => client.users.remove(user.id), onSuccess: done });
  const resetMfa = useMutation({ mutationFn: () => client.mfa.reset(user.id), onSuccess: async () => { setConfirm(null); await done(); } });
  const endSession = useMutation({ mutationFn: (id: string) => client.auth.sessions.revoke(id), onSuccess: done });

  function resetPassword(event: FormEvent) {
    event.preventDefault();
    const parsed = PasswordSchema.safeParse(password);
    if (!parsed.success) return setPasswordError(parsed.error.issues[0]?.message);
    setPasswordError(undefined);
    update.mutate({ password: parsed.data, mustChangePassword: true }, { onSuccess: () => setPassword("") });
  }

  return (
    <div className="space-y-4 p-2" aria-label={`Details of ${user.username}`} role="group">
      <ErrorNotice error={update.error ?? remove.error ?? resetMfa.error ?? endSession.error ?? sessions.error} />
      <div className="flex flex-wrap items-end gap-3">
        <CheckList legend={`Roles of ${user.username}`} options={roleNames} chosen={roles} onChange={setRoles} />
        <Button look="primary" busy={update.isPending} onClick={() => update.mutate({ roles })}>
          Save roles
        </Button>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button onClick={() => update.mutate({ state: user.state === "active" ? "disabled" : "active" })} busy={update.isPending}>
          {user.state === "active" ? "Disable user" : "Enable user"}
        </Button>
        <Button onClick={() => setConfirm("mfa")}>Reset second factors</Button>
        <Button look="danger" onClick={() => setConfirm("delete")}>
          Delete user
        </Button>
      </div>
      {user.kind === "person" && (
        <form onSubmit={resetPassword} className="flex flex-wrap items-end gap-2" aria-label={`Reset the password of ${user.username}`}>
          <TextField label="New temporary password" type="password" autoComplete="new-password" value={password} error={passwordError} onChange={(event) => setPassword(event.target.value)} />
          <Button type="submit" busy={update.isPending}>
            Reset password
          </Button>
        </form>
      )}
      <div>
        <h3 className="mb-1 text-sm font-semibold">Sessions of {user.username}</h3>
        {sessions.data && (sessions.data.length === 0 ? <p className="text-sm">No sessions.</p> : <SessionRows sessions={sessions.data} onRevoke={(session) => endSession.mutate(session.id)} />)}
      </div>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm === "delete" ? `Delete ${user.username}?` : `Reset the second factors of ${user.username}?`}
        confirmLabel={confirm === "delete" ? "Delete user" : "Reset factors"}
        busy={remove.isPending || resetMfa.isPending}
        onConfirm={() => (confirm === "delete" ? remove.mutate() : resetMfa.mutate())}
        onCancel={() => setConfirm(null)}
      >
        {confirm === "delete" ? "Their sessions end and they can no longer sign in." : "Their authenticator app, passkeys and recovery codes stop working; they enrol again."}
      </ConfirmDialog>
    </div>
  );
}

export function UsersPanel() {
  const client = useClient();
  const users = useQuery({ queryKey: KEY, queryFn: () => client.users.list({ limit: 500 }) });
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Panel title="Users">
      <div className="space-y-3">
        <ErrorNotice error={users.error} />
        {users.data && (
          <Table label="Users" head={["User", "Roles", "Sign-in methods", "State", "Last sign-in", ""]}>
            {users.data.users.map((user) => (
              <UserRow key={user.id} user={user} open={open === user.id} onToggle={() => setOpen(open === user.id ? null : user.id)} />
            ))}
          </Table>
        )}
        <CreateUserForm />
      </div>
    </Panel>
  );
}

function UserRow({ user, open, onToggle }: { user: User; open: boolean; onToggle(): void }) {
  return (
    <>
      <tr>
        <td className={CELL}>
          <span className="font-medium">{user.username}</span>
          {user.displayName && <span className="block text-xs text-slate-600 dark:text-slate-400">{user.displayName}</span>}
          {user.kind === "agent" && <Badge>agent</Badge>}
        </td>
        <td className={CELL}>{user.roles.join(", ") || "none"}</td>
        <td className={CELL}>{user.methods.join(", ") || "none"}</td>
        <td className={CELL}>
          <Badge tone={user.state === "active" ? "good" : "bad"}>{user.state}</Badge> {user.mustChangePassword && <Badge tone="warn">must change password</Badge>}
        </td>
        <td className={CELL}>
          <When at={user.lastSignInAt} />
        </td>
        <td className={CELL}>
          <Button onClick={onToggle} aria-expanded={open} aria-label={`${open ? "Close" : "Manage"} ${user.username}`}>
            {open ? "Close" : "Manage"}
          </Button>
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={6}>
            <UserDetails user={user} />
          </td>
        </tr>
      )}
    </>
  );
}
