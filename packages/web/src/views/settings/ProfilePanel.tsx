/**
 * @module views/settings/ProfilePanel
 * The signed-in person's own profile and preferences (display name, language, time zone), checked with the
 * protocol's UpdateProfileRequest schema, and their password (ChangePasswordRequest; their other sessions end).
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ChangePasswordRequestSchema, UpdateProfileRequestSchema } from "@kai/protocol";
import type { User } from "@kai/sdk";
import { useClient } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";

/** The first message per field of a failed parse, by the field's last path segment. */
function problems(issues: { path: PropertyKey[]; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of issues) out[String(issue.path.at(-1) ?? "form")] ??= issue.message;
  return out;
}

export function ProfilePanel({ profile }: { profile: User }) {
  const client = useClient();
  const queries = useQueryClient();
  const [displayName, setDisplayName] = useState(profile.displayName ?? "");
  const [language, setLanguage] = useState(profile.preferences.language ?? "");
  const [timezone, setTimezone] = useState(profile.preferences.timezone ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: (patch: Parameters<typeof client.me.update>[0]) => client.me.update(patch),
    onSuccess: (user) => queries.setQueryData(["settings", "me"], user),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = UpdateProfileRequestSchema.safeParse({
      displayName: displayName.trim() === "" ? null : displayName.trim(),
      preferences: { ...profile.preferences, ...(language ? { language } : { language: undefined }), ...(timezone ? { timezone } : { timezone: undefined }) },
    });
    if (!parsed.success) return setErrors(problems(parsed.error.issues));
    setErrors({});
    save.mutate(parsed.data);
  }
  return (
    <Panel title="Profile and preferences">
      <form onSubmit={submit} aria-label="Profile and preferences" className="space-y-3">
        <p className="text-sm">
          Signed in as <span className="font-medium">{profile.username}</span> ({profile.roles.join(", ") || "no role"}).
        </p>
        <div className="grid gap-3 sm:grid-cols-3">
          <TextField label="Display name" value={displayName} error={errors.displayName} onChange={(event) => setDisplayName(event.target.value)} />
          <TextField label="Language" value={language} error={errors.language} hint="e.g. en, de-CH" onChange={(event) => setLanguage(event.target.value)} />
          <TextField label="Time zone" value={timezone} error={errors.timezone} hint="e.g. Europe/Zurich" onChange={(event) => setTimezone(event.target.value)} />
        </div>
        <ErrorNotice error={save.error} />
        <div className="flex items-center gap-3">
          <Button look="primary" type="submit" busy={save.isPending}>
            Save profile
          </Button>
          {save.isSuccess && <span role="status" className="text-sm">Saved.</span>}
        </div>
      </form>
    </Panel>
  );
}

export function PasswordPanel() {
  const client = useClient();
  const [currentPassword, setCurrent] = useState("");
  const [newPassword, setNew] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const change = useMutation({ mutationFn: (request: Parameters<typeof client.me.changePassword>[0]) => client.me.changePassword(request), onSuccess: () => { setCurrent(""); setNew(""); } });
  function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = ChangePasswordRequestSchema.safeParse({ currentPassword, newPassword });
    if (!parsed.success) return setErrors(problems(parsed.error.issues));
    setErrors({});
    change.mutate(parsed.data);
  }
  return (
    <Panel title="Password">
      <form onSubmit={submit} aria-label="Change your password" className="space-y-3">
        <div className="grid gap-3 sm:grid-cols-2">
          <TextField label="Current password" type="password" autoComplete="current-password" value={currentPassword} error={errors.currentPassword} onChange={(event) => setCurrent(event.target.value)} />
          <TextField label="New password" type="password" autoComplete="new-password" value={newPassword} error={errors.newPassword} hint="At least 12 characters. Your other sessions end." onChange={(event) => setNew(event.target.value)} />
        </div>
        <ErrorNotice error={change.error} />
        <div className="flex items-center gap-3">
          <Button type="submit" busy={change.isPending}>
            Change password
          </Button>
          {change.isSuccess && <span role="status" className="text-sm">Password changed.</span>}
        </div>
      </form>
    </Panel>
  );
}
