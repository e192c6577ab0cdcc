/**
 * @module progress-lines
 * The step lines of a long local job (`kai backup restore`, `kai storage copy`): "vault secrets: 1 of 1 copied",
 * "services: 1000 copied", "services: 2000 copied", … A step that counts repeats its line with the same label before
 * the colon; printed as they come, a store of 100,000 services gave a hundred lines of "services: N copied".
 *
 * - On a terminal a repeated step's line is rewritten in place, and the next step starts on a line of its own.
 * - Anywhere else (a file, a CI log) a repeated step's line is printed at most once every `everyMs`; the step's
 *   last count is always printed, when the next step begins or the job ends (`end()`), so the log says how far
 *   each step went.
 */

export interface ProgressLinesOptions {
  /** Writes text to stderr as it is (no newline added). */
  write(text: string): void;
  /** Whether that stderr is a terminal. */
  terminal: boolean;
  /** Off a terminal, the shortest time between two lines of one step (default 5 s). */
  everyMs?: number;
  now?: () => number;
}

export interface ProgressLines {
  /** One step line (without a newline). */
  line(text: string): void;
  /** The job is over (or failed): what is still held back is printed, and a rewritten line is ended. */
  end(): void;
}

/** The label a step's lines share: the text before the first colon ("services" of "services: 1000 copied"). */
const labelOf = (text: string): string | undefined => {
  const colon = text.indexOf(":");
  return colon > 0 ? text.slice(0, colon) : undefined;
};

export function progressLines(options: ProgressLinesOptions): ProgressLines {
  const everyMs = options.everyMs ?? 5000;
  const now = options.now ?? Date.now;
  let label: string | undefined;
  /** On a terminal: the current line is open (written without its newline), to be rewritten or ended. */
  let open = false;
  /** Off a terminal: a line of the current step not printed yet, and when the step last printed one. */
  let held: string | undefined;
  let printedAt = 0;

  const finishStep = () => {
    if (open) options.write("\n");
    open = false;
    if (held !== undefined) options.write(`${held}\n`);
    held = undefined;
  };

  return {
    line(text) {
      const next = labelOf(text);
      const sameStep = next !== undefined && next === label;
      if (!sameStep) {
        finishStep();
        label = next;
      }
      if (options.terminal) {
        // \r and "erase to the end of the line": a shorter count must not leave the end of a longer one.
        options.write(sameStep ? `\r\x1b[K${text}` : text);
        open = true;
        return;
      }
      if (sameStep && now() - printedAt < everyMs) {
        held = text;
        return;
      }
      held = undefined;
      printedAt = now();
      options.write(`${text}\n`);
    },
    end: finishStep,
  };
}
