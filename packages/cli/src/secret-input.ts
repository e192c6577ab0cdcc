/**
 * @module secret-input
 * Reads a passphrase or a secret value the way a secret must be read: from stdin when it is piped, or
 * from a prompt on the terminal that does not echo, never from argv (other users can read a process's
 * command line). A single trailing newline is removed from piped input, since `echo`/heredocs add one.
 * The no-echo prompt is hand-written on the terminal's raw mode because the CLI has no prompt library and
 * one dependency for a dozen lines is not worth its supply chain; `kai login` uses the same prompts.
 */
import { createInterface } from "node:readline/promises";
import { readStdin } from "./input-file.js";
import { usageError } from "./cli-error.js";

/** Reads a line from the terminal without echoing it; Ctrl-C or Ctrl-D aborts. */
export function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") return finish();
        if (char === "\u0003" || char === "\u0004") return finish(usageError("aborted"));
        if (char === "\u007f" || char === "\b") value = [...value].slice(0, -1).join("");
        else value += char;
      }
    };
    // No echo before the prompt shows: a password typed (or pasted) right after the prompt is never echoed.
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
    process.stderr.write(prompt);
  });
}

export interface SecretPrompt {
  /** What is asked for, e.g. "passphrase". */
  what: string;
  /** Ask twice on a terminal and require both to agree (new passphrases). */
  confirm?: boolean;
}

/** The secret from stdin (piped) or a no-echo prompt (terminal). Refuses an empty value. */
export async function readSecret({ what, confirm = false }: SecretPrompt): Promise<string> {
  let value: string;
  if (process.stdin.isTTY) {
    value = await promptHidden(`${what}: `);
    if (confirm && value !== (await promptHidden(`${what} (again): `))) throw usageError(`the two ${what}s differ`);
  } else {
    value = (await readStdin()).replace(/\r?\n$/, "");
  }
  if (value === "") throw usageError(`no ${what} given (pipe it on stdin or type it at the prompt)`);
  return value;
}

/** Asks for a line on the terminal, echoed (a username, a one-time code). */
export async function promptLine(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

/** Whole of stdin as lines (without their line ends), for several secrets piped at once (`--password-stdin`). */
export async function readStdinLines(): Promise<string[]> {
  const lines = (await readStdin()).split(/\r?\n/);
  // The line end after the last line is not an empty last line.
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
