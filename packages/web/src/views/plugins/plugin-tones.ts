/**
 * @module views/plugins/plugin-tones
 * The badge tone of a plugin's folder state (discovered, invalid, incompatible), run state and trust level. The word
 * is always shown too; the tone only adds colour.
 */
import type { Tone } from "../../components/Badge";

const TONE: Record<string, Tone> = {
  discovered: "good",
  running: "good",
  system: "good",
  trusted: "good",
  starting: "warn",
  restarting: "warn",
  incompatible: "warn",
  unverified: "warn",
  failed: "bad",
  invalid: "bad",
};

export function pluginTone(word: string): Tone {
  return TONE[word] ?? "neutral";
}
