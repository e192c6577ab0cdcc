/**
 * The lazily built command tree against the whole one: `kai` builds only the command a command line names and puts a
 * stand-in made from commands/catalog.ts in place of every other, so the catalog must say what each command's module
 * declares, and the help printed must be the same byte for byte.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Command } from "commander";
import { TOP_LEVEL_COMMANDS } from "./commands/catalog.js";
import { buildProgram, run } from "./program.js";

function argumentTerm(command: Command): string[] {
  return command.registeredArguments.map((argument) => {
    const name = `${argument.name()}${argument.variadic ? "..." : ""}`;
    return argument.required ? `<${name}>` : `[${name}]`;
  });
}

/** Everything written to stdout and stderr while `action` runs. */
async function outputOf(action: () => unknown): Promise<{ stdout: string; stderr: string }> {
  const written = { stdout: "", stderr: "" };
  const capture = (stream: "stdout" | "stderr") =>
    vi.spyOn(process[stream], "write").mockImplementation((chunk: string | Uint8Array) => {
      written[stream] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    });
  const spies = [capture("stdout"), capture("stderr")];
  try {
    await action();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written;
}

/** What the whole tree prints for `argv` (commander's own output: help, usage errors). */
async function wholeTreeOutput(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = await buildProgram();
  return outputOf(() => program.parseAsync(argv, { from: "user" }).catch(() => undefined));
}

afterEach(() => vi.restoreAllMocks());

describe("the command catalog", () => {
  it("lists every top-level command as its module declares it, in the same order", async () => {
    const program = await buildProgram();
    expect(program.commands.map((command) => command.name())).toEqual(TOP_LEVEL_COMMANDS.map((entry) => entry.name));
    for (const [index, command] of program.commands.entries()) {
      const entry = TOP_LEVEL_COMMANDS[index]!;
      expect({ name: command.name(), aliases: command.aliases(), options: command.options.length > 0, args: argumentTerm(command), description: command.description() }).toEqual({
        name: entry.name,
        aliases: [...(entry.aliases ?? [])],
        options: entry.options === true,
        args: [...(entry.args ?? [])],
        description: entry.description,
      });
    }
  });
});

describe("run() with the lazily built tree prints what the whole tree prints", () => {
  const commandLines: string[][] = [
    ["--help"],
    [],
    ["services", "--help"],
    ["svc", "--help"],
    ["help", "services"],
    ["help", "route"],
    ["--json", "--url", "http://127.0.0.1:9", "services", "--help"],
    ["--url=http://127.0.0.1:9", "serve", "--help"],
    ["--", "services", "--help"],
    // Combined short flags: the scan names no command, commander reaches serve's stand-in, run() starts again whole.
    ["-qq", "serve", "--help"],
    ["servces"],
    ["route"],
    ["services", "list", "--limit", "0"],
  ];
  for (const argv of commandLines) {
    it(`kai ${argv.join(" ")}`, async () => {
      const expected = await wholeTreeOutput(argv);
      expect(expected.stdout + expected.stderr).not.toBe("");
      expect(await outputOf(() => run(argv))).toEqual(expected);
    });
  }
});
