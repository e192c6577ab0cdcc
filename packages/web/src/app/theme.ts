/**
 * @module app/theme
 * Light, dark or the system's theme: kept in localStorage (it must apply before the first paint, before the
 * user's preferences arrive from the server), applied as the `dark` class on <html>, and following the system
 * live while the choice is "system".
 */
import { create } from "zustand";

export type ThemeChoice = "system" | "light" | "dark";
const STORAGE_KEY = "kai.theme";

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

function systemPrefersDark(): boolean {
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
}

function apply(choice: ThemeChoice): void {
  const dark = choice === "dark" || (choice === "system" && systemPrefersDark());
  document.documentElement.classList.toggle("dark", dark);
}

interface ThemeState {
  choice: ThemeChoice;
  setChoice(choice: ThemeChoice): void;
}

export const useTheme = create<ThemeState>((set) => ({
  choice: stored(),
  setChoice(choice) {
    try {
      localStorage.setItem(STORAGE_KEY, choice);
    } catch {
      // Storage refused (private mode): the choice still applies for this page.
    }
    apply(choice);
    set({ choice });
  },
}));

/** Applies the stored choice at start and follows the system's changes while the choice is "system". */
export function applyStoredTheme(): void {
  apply(stored());
  if (typeof matchMedia === "function") {
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      if (useTheme.getState().choice === "system") apply("system");
    });
  }
}
