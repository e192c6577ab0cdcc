/**
 * @module app/ThemeSwitch
 * The theme picker in the header: system, light or dark. It applies at once in this browser and, for a person, is
 * saved to their preferences so that their next sign-in elsewhere starts with it.
 */
import { useSession } from "./session";
import { useTheme, type ThemeChoice } from "./theme";

export function ThemeSwitch() {
  const { choice, setChoice } = useTheme();
  const { connection, state } = useSession();
  const person = state.status === "signed-in" && state.me.user?.kind === "person";

  function choose(theme: ThemeChoice) {
    setChoice(theme);
    // The server merges preferences, so only the theme is sent. A failure keeps the choice in this browser only.
    if (person) void connection.client.me.update({ preferences: { theme } }).catch(() => undefined);
  }

  return (
    <label className="flex items-center gap-1 text-sm">
      <span>Theme</span>
      <select
        value={choice}
        onChange={(event) => choose(event.target.value as ThemeChoice)}
        className="rounded border border-slate-300 bg-white px-1 py-0.5 dark:border-slate-600 dark:bg-slate-800"
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
