/**
 * @module views/access/RolesPanel
 * Roles: what each one lets its holders do (everyone may read this). Administrators create or replace custom roles
 * and delete those nobody holds; built-in roles are fixed in code and offer no buttons.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PutRoleRequestSchema, RoleNameSchema, SCOPES, type Role } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { Badge } from "../../components/Badge";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { CELL, CheckList, Table, fieldErrors } from "./shared";

function RoleForm({ onSaved }: { onSaved(): void }) {
  const client = useClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: (input: { name: string; body: { scopes: Role["scopes"]; description?: string } }) => client.roles.put(input.name, input.body),
    onSuccess: () => {
      setName("");
      setDescription("");
      setScopes([]);
      onSaved();
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const parsedName = RoleNameSchema.safeParse(name);
    const parsed = PutRoleRequestSchema.safeParse({ scopes, ...(description ? { description } : {}) });
    const problems = { ...(parsedName.success ? {} : { name: parsedName.error.issues[0]?.message ?? "invalid" }), ...(parsed.success ? {} : fieldErrors(parsed.error)) };
    setErrors(problems);
    if (parsedName.success && parsed.success) save.mutate({ name: parsedName.data, body: { scopes: parsed.data.scopes, ...(parsed.data.description ? { description: parsed.data.description } : {}) } });
  }
  return (
    <form onSubmit={submit} aria-label="Create or replace a custom role" className="space-y-3 rounded-md border border-dashed border-slate-300 p-3 dark:border-slate-600">
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Role name" value={name} onChange={(event) => setName(event.target.value)} error={errors.name} hint="Lowercase letters, digits, - and _" />
        <TextField label="Description" value={description} onChange={(event) => setDescription(event.target.value)} error={errors.description} />
      </div>
      <CheckList legend="Scopes of the role" options={SCOPES} chosen={scopes} onChange={setScopes} />
      {errors.scopes && <p role="alert" className="text-xs text-red-700 dark:text-red-400">Scopes: {errors.scopes}</p>}
      <ErrorNotice error={save.error} />
      <Button look="primary" type="submit" busy={save.isPending}>
        Save role
      </Button>
    </form>
  );
}

export function RolesPanel() {
  const client = useClient();
  const admin = useCan("admin");
  const queries = useQueryClient();
  const roles = useQuery({ queryKey: ["access", "roles"], queryFn: () => client.roles.list() });
  const [deleting, setDeleting] = useState<Role | null>(null);
  const refresh = () => queries.invalidateQueries({ queryKey: ["access", "roles"] });
  const remove = useMutation({ mutationFn: (role: Role) => client.roles.remove(role.name), onSuccess: async () => { setDeleting(null); await refresh(); } });
  return (
    <Panel title="Roles">
      <div className="space-y-3">
        <ErrorNotice error={roles.error ?? remove.error} />
        {roles.data && (
          <Table label="Roles" head={["Role", "Kind", "Scopes", "Description", ""]}>
            {roles.data.map((role) => (
              <tr key={role.name}>
                <td className={`${CELL} font-medium`}>{role.name}</td>
                <td className={CELL}>
                  <Badge>{role.builtIn ? "built-in" : "custom"}</Badge>
                </td>
                <td className={`${CELL} font-mono text-xs`}>{role.scopes.join(" ")}</td>
                <td className={CELL}>{role.description ?? ""}</td>
                <td className={CELL}>
                  {admin && !role.builtIn && (
                    <Button look="danger" onClick={() => setDeleting(role)} aria-label={`Delete role ${role.name}`}>
                      Delete
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
        {admin && <RoleForm onSaved={() => void refresh()} />}
      </div>
      <ConfirmDialog open={deleting !== null} title={`Delete the role ${deleting?.name ?? ""}?`} confirmLabel="Delete role" busy={remove.isPending} onConfirm={() => deleting && remove.mutate(deleting)} onCancel={() => setDeleting(null)}>
        Only a role nobody holds can be deleted.
      </ConfirmDialog>
    </Panel>
  );
}
