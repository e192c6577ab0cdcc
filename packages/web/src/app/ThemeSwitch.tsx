/**
 * @module app/ThemeSwitch
 * The theme picker in the header: system, light or dark.
 */
import { useTheme, type ThemeChoice } from "./theme";

export function ThemeSwitch() {
  const { choice, setChoice } = useTheme();
  return (
    <label className="flex items-center gap-1 text-sm">
      <span>Theme</span>
      <select
        value={choice}
        onChange={(event) => setChoice(event.target.value as ThemeChoice)}
        className="rounded border border-slate-300 bg-white px-1 py-0.5 dark:border-slate-600 dark:bg-slate-800"
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
