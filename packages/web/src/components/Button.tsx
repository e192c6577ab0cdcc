/**
 * @module components/Button
 * The app's button: primary, secondary or danger, with a busy state that disables it (a second press while a
 * request is on its way would send it twice).
 */
import type { ButtonHTMLAttributes, Ref } from "react";

// White text needs 4.5:1 (WCAG AA): sky-700 and red-700 give it in both themes; the lighter 600s do not (axe, dark).
const LOOKS = {
  primary: "bg-sky-700 text-white hover:bg-sky-800 dark:bg-sky-700 dark:hover:bg-sky-800",
  secondary: "border border-slate-300 bg-white text-slate-900 hover:bg-slate-100 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700",
  danger: "bg-red-700 text-white hover:bg-red-800 dark:bg-red-700 dark:hover:bg-red-800",
} as const;

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  look?: keyof typeof LOOKS;
  busy?: boolean;
  /** React 19 passes `ref` as a prop: moving focus to a button (e.g. after what it stood for was replaced). */
  ref?: Ref<HTMLButtonElement>;
}

export function Button({ look = "secondary", busy = false, className = "", disabled, type = "button", children, ...rest }: ButtonProps) {
  return (
    <button
      type={type}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      className={`inline-flex items-center gap-2 rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-60 ${LOOKS[look]} ${className}`}
      {...rest}
    >
      {children}
    </button>
  );
}
