/**
 * @module views/agents/states
 * The tone of a task's or a step's state word (badges and the graph's boxes). The word is always shown; the
 * tone only adds colour, and the graph adds a border style (dashed while waiting or running).
 */
import type { StepState, TaskState } from "@kai/protocol";
import type { Tone } from "../../components/Badge";

const TONES: Record<TaskState | StepState, Tone> = {
  submitted: "neutral",
  pending: "neutral",
  working: "warn",
  running: "warn",
  "input-required": "warn",
  completed: "good",
  failed: "bad",
  rejected: "bad",
  canceled: "neutral",
  skipped: "neutral",
};

export function stateTone(state: TaskState | StepState): Tone {
  return TONES[state];
}

/** The graph's box colours per tone, light and dark (text stays dark on light and light on dark: readable in both). */
export const GRAPH_FILL: Record<Tone, string> = {
  good: "fill-emerald-100 stroke-emerald-700 dark:fill-emerald-900 dark:stroke-emerald-400",
  warn: "fill-amber-100 stroke-amber-700 dark:fill-amber-900 dark:stroke-amber-400",
  bad: "fill-red-100 stroke-red-700 dark:fill-red-900 dark:stroke-red-400",
  neutral: "fill-slate-100 stroke-slate-500 dark:fill-slate-800 dark:stroke-slate-400",
};

/** Unfinished states are drawn with a dashed border: a second signal besides colour and word. */
export function isUnsettled(state: StepState): boolean {
  return state === "pending" || state === "running" || state === "input-required";
}
