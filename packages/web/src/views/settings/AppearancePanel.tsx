/**
 * @module views/settings/AppearancePanel
 * Theme: system, light or dark. It applies at once from this browser's storage (before any request, so the first
 * paint is right) and, for a signed-in person, is also saved in their preferences on the node so that it follows
 * them to another browser.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { User } from "@kai/sdk";
import { useClient } from "../../app/session";
import { useTheme, type ThemeChoice } from "../../app/theme";
import { Panel } from "../../components/Page";
import { ErrorNotice } from "../../components/ErrorNotice";

const CHOICES: { value: ThemeChoice; label: string; hint: string }[] = [
  { value: "system", label: "System", hint: "follows the operating system" },
  { value: "light", label: "Light", hint: "" },
  { value: "dark", label: "Dark", hint: "" },
];

/** `person`: signed in as a person (an API token has no preferences to save to); `profile` once it has loaded. */
export function AppearancePanel({ person, profile }: { person: boolean; profile: User | undefined }) {
  const client = useClient();
  const queries = useQueryClient();
  const { choice, setChoice } = useTheme();
  const save = useMutation({
    // The other preferences are kept: read them first when the profile has not arrived yet.
    mutationFn: async (theme: ThemeChoice) => client.me.update({ preferences: { ...(profile ?? (await client.me.get())).preferences, theme } }),
    onSuccess: (user) => queries.setQueryData(["settings", "me"], user),
  });
  function choose(theme: ThemeChoice) {
    setChoice(theme);
    if (person) save.mutate(theme);
  }
  return (
    <Panel title="Appearance">
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium">Theme</legend>
        <div className="flex flex-wrap gap-4">
          {CHOICES.map((option) => (
            <label key={option.value} className="flex items-center gap-1 text-sm">
              <input type="radio" name="theme" value={option.value} checked={choice === option.value} onChange={() => choose(option.value)} />
              {option.label}
              {option.hint && <span className="text-xs text-slate-600 dark:text-slate-400">({option.hint})</span>}
            </label>
          ))}
        </div>
        <p className="text-xs text-slate-600 dark:text-slate-400" role="status">
          {person ? (save.isPending ? "Saving to your preferences…" : save.isSuccess ? "Saved to your preferences." : "Kept in this browser and in your preferences.") : "Kept in this browser."}
        </p>
      </fieldset>
      <ErrorNotice error={save.error} title="Could not save the theme to your preferences" />
    </Panel>
  );
}
