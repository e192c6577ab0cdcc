/**
 * @module views/access/shared
 * Small pieces the Access panels share: a labelled checkbox list (scopes, roles), a table frame, and the zod issue →
 * field error mapping the forms use. (Times are written by components/When, as on every page.)
 */
import type { ReactNode } from "react";
import type { z } from "zod";

export function CheckList({ legend, options, chosen, onChange, describe }: { legend: string; options: readonly string[]; chosen: readonly string[]; onChange(next: string[]): void; describe?: (option: string) => string | undefined }) {
  return (
    <fieldset className="space-y-1">
      <legend className="text-sm font-medium">{legend}</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1">
        {options.map((option) => (
          <label key={option} className="flex items-center gap-1 text-sm" title={describe?.(option)}>
            <input
              type="checkbox"
              checked={chosen.includes(option)}
              onChange={(event) => onChange(event.target.checked ? [...chosen, option] : chosen.filter((item) => item !== option))}
            />
            <span className="font-mono text-xs">{option}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

export function Table({ label, head, children }: { label: string; head: string[]; children: ReactNode }) {
  return (
    <div className="overflow-x-auto">
      <table aria-label={label} className="w-full text-left text-sm">
        <thead className="border-b border-slate-200 text-xs uppercase text-slate-600 dark:border-slate-700 dark:text-slate-400">
          <tr>
            {head.map((cell) => (
              <th key={cell} scope="col" className="px-2 py-1.5 font-semibold">
                {cell}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">{children}</tbody>
      </table>
    </div>
  );
}

export const CELL = "px-2 py-1.5 align-top";

/** The first message per top-level field of a failed zod parse. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    out[key] ??= issue.message;
  }
  return out;
}
