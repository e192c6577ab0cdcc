/**
 * @module commands/doctor
 * `kai doctor` (admin; `GET /api/doctor`): what on the node needs attention: TLS files, backups, disk space, log files,
 * trace export, the vault, first sign-in. One line per check (`ok`, `WARN`, `FAIL`, the area, what was found), the
 * hint under a check that is not ok, and a summary. On a node of several instances every live instance's checks, under
 * its name, and the instances that did not answer (`--this-instance`: the answering one's only). Exit 9 when a check
 * failed (with `--strict`, also when one warns or an instance did not answer), so a cron job or a deployment script
 * hears it; `--json` prints the answer as the API gives it.
 */
import { Command } from "commander";
import { doctorReports, type DoctorCheck, type DoctorReport, type DoctorResponse } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError } from "../cli-error.js";
import { EXIT } from "../exit-code-numbers.js";

const STATE_WORDS: Record<DoctorCheck["state"], string> = { ok: "ok", warn: "WARN", fail: "FAIL" };

/** One report's checks as lines: state, area, summary; the hint indented under a check that is not ok. */
export function doctorLines(report: DoctorReport, indent = ""): string[] {
  const width = Math.max(...report.checks.map((check) => check.area.length), 4);
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${indent}${STATE_WORDS[check.state].padEnd(4)}  ${check.area.padEnd(width)}  ${check.summary}`);
    if (check.state !== "ok" && check.hint !== undefined) lines.push(`${indent}${" ".repeat(width + 8)}→ ${check.hint}`);
  }
  return lines;
}

/** `vm-1: 2 warnings, 1 failure` (or `all 7 checks ok`). */
export function doctorSummary(report: DoctorReport): string {
  const count = (state: DoctorCheck["state"]) => report.checks.filter((check) => check.state === state).length;
  const [warnings, failures] = [count("warn"), count("fail")];
  if (warnings === 0 && failures === 0) return `${report.instance}: all ${report.checks.length} checks ok`;
  return `${report.instance}: ${warnings} warning${warnings === 1 ? "" : "s"}, ${failures} failure${failures === 1 ? "" : "s"}`;
}

/** Why `kai doctor` exits 9, or `undefined` when it does not. */
function attention(answer: DoctorResponse, strict: boolean): string | undefined {
  const states = doctorReports(answer).flatMap((report) => report.checks.map((check) => check.state));
  if (states.includes("fail")) return "a check failed: see FAIL above";
  if (!strict) return undefined;
  if (states.includes("warn")) return "a check warns (--strict): see WARN above";
  if ((answer.unanswered ?? []).length > 0) return "an instance did not answer (--strict): its checks are unknown";
  return undefined;
}

export function doctorCommand(): Command {
  const command = new Command("doctor")
    .description("what on the node needs attention: TLS files, backups, disk space, log files, trace export, vault, first sign-in; every instance's on a node of several (admin; exit 9 when a check fails)")
    .option("--strict", "exit 9 when a check warns, too (or an instance did not answer)")
    .option("--this-instance", "on a node of several instances: only the checks of the one answering (default: every live instance's)");
  addGlobalOptions(command);
  return command.action(async (flags: { strict?: boolean; thisInstance?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const answer = await client().doctor(flags.thisInstance ? { instances: "this" } : {});
    if (out.json) out.document(answer);
    else {
      const unanswered = answer.unanswered ?? [];
      // Under each instance's name only when the answer holds more than one instance's.
      const several = (answer.others ?? []).length > 0 || unanswered.length > 0;
      const reports = doctorReports(answer);
      for (const report of reports) {
        if (several) out.line(report.instance);
        for (const line of doctorLines(report, several ? "  " : "")) out.line(line);
      }
      for (const name of unanswered) {
        out.line(name);
        out.line(`  ?     did not answer in time: its checks are unknown (ask it directly: kai doctor --url <its address> --this-instance)`);
      }
      for (const report of reports) out.info(doctorSummary(report));
      for (const name of unanswered) out.info(`${name}: no answer`);
    }
    const why = attention(answer, flags.strict === true);
    if (why) throw new CliError(why, "attention", EXIT.attention);
  });
}
