/**
 * @module commands/doctor
 * `kai doctor` (admin; `GET /api/doctor`): what on the node's instance needs attention: TLS files, backups, disk space,
 * log files, trace export, the vault, first sign-in. One line per check (`ok`, `WARN`, `FAIL`, the area, what was
 * found), the hint under a check that is not ok, and a summary. Exit 9 when a check failed (with `--strict`, also when
 * one warns), so a cron job or a deployment script hears it; `--json` prints the answer as the API gives it.
 */
import { Command } from "commander";
import type { DoctorCheck, DoctorResponse } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError } from "../cli-error.js";
import { EXIT } from "../exit-code-numbers.js";

const STATE_WORDS: Record<DoctorCheck["state"], string> = { ok: "ok", warn: "WARN", fail: "FAIL" };

/** The checks as lines: state, area, summary; the hint indented under a check that is not ok. */
export function doctorLines(answer: DoctorResponse): string[] {
  const width = Math.max(...answer.checks.map((check) => check.area.length), 4);
  const lines: string[] = [];
  for (const check of answer.checks) {
    lines.push(`${STATE_WORDS[check.state].padEnd(4)}  ${check.area.padEnd(width)}  ${check.summary}`);
    if (check.state !== "ok" && check.hint !== undefined) lines.push(`${" ".repeat(width + 8)}→ ${check.hint}`);
  }
  return lines;
}

/** `vm-1: 2 warnings, 1 failure` (or `all 7 checks ok`). */
export function doctorSummary(answer: DoctorResponse): string {
  const count = (state: DoctorCheck["state"]) => answer.checks.filter((check) => check.state === state).length;
  const [warnings, failures] = [count("warn"), count("fail")];
  if (warnings === 0 && failures === 0) return `${answer.instance}: all ${answer.checks.length} checks ok`;
  return `${answer.instance}: ${warnings} warning${warnings === 1 ? "" : "s"}, ${failures} failure${failures === 1 ? "" : "s"}`;
}

export function doctorCommand(): Command {
  const command = new Command("doctor")
    .description("what on the node needs attention: TLS files, backups, disk space, log files, trace export, vault, first sign-in (admin; exit 9 when a check fails)")
    .option("--strict", "exit 9 when a check warns, too");
  addGlobalOptions(command);
  return command.action(async (flags: { strict?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const answer = await client().doctor();
    if (out.json) out.document(answer);
    else {
      for (const line of doctorLines(answer)) out.line(line);
      out.info(doctorSummary(answer));
    }
    const attention = answer.state === "fail" || (flags.strict === true && answer.state === "warn");
    if (attention) throw new CliError(answer.state === "fail" ? "a check failed: see FAIL above" : "a check warns (--strict): see WARN above", "attention", EXIT.attention);
  });
}
