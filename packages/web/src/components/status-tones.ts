/**
 * @module components/status-tones
 * The badge tone of the words the overview and a service's page show (status, health, breaker, peer state). The
 * word itself is always shown; the tone only adds colour.
 */
import type { Tone } from "./Badge";

const TONE: Record<string, Tone> = {
  active: "good",
  passing: "good",
  closed: "good",
  connected: "good",
  unlocked: "good",
  degraded: "warn",
  maintenance: "warn",
  half_open: "warn",
  connecting: "warn",
  unknown: "neutral",
  offline: "bad",
  failing: "bad",
  open: "bad",
  disconnected: "bad",
  untrusted: "bad",
  locked: "bad",
};

export function toneFor(word: string): Tone {
  return TONE[word] ?? "neutral";
}

/** `half_open` → `half-open`: the words people read. */
export function wordFor(value: string): string {
  return value.replace(/_/g, "-");
}
