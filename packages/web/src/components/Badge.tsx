/**
 * @module components/Badge
 * A short status label. The colour is never the only signal: the word is always there (colour-blind users,
 * screenshots in grey).
 */
const TONES = {
  good: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  warn: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  bad: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
  neutral: "bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100",
} as const;

export type Tone = keyof typeof TONES;

export function Badge({ tone = "neutral", children }: { tone?: Tone; children: string }) {
  return <span className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${TONES[tone]}`}>{children}</span>;
}

/** The tone of a service's status or health word. */
export function toneOf(status: string): Tone {
  if (status === "online" || status === "healthy" || status === "passing" || status === "unlocked") return "good";
  if (status === "degraded" || status === "warning" || status === "unknown" || status === "draining") return "warn";
  if (status === "offline" || status === "unhealthy" || status === "critical" || status === "locked" || status === "failing") return "bad";
  return "neutral";
}
