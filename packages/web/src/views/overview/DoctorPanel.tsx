/**
 * @module views/overview/DoctorPanel
 * What on the node needs attention (`GET /api/doctor`, admin; the same checks as `kai doctor`): the checks that warn
 * or fail, each with what to do, and how many are fine. On a node of several instances every live instance's checks,
 * each naming its instance, and a note naming any instance that did not answer. Shown to admins only: it names
 * folders and files.
 */
import { doctorReports, type DoctorCheck, type DoctorReport } from "@kai/protocol";
import { Badge, type Tone } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { useDoctor } from "./overview-queries";

const TONES: Record<DoctorCheck["state"], Tone> = { ok: "good", warn: "warn", fail: "bad" };
/** Failures first, then warnings, each in the node's order. */
const RANK: Record<DoctorCheck["state"], number> = { fail: 0, warn: 1, ok: 2 };

/** A check that is not ok, and the instance that made it. */
interface Finding {
  instance: string;
  check: DoctorCheck;
}

export function DoctorPanel() {
  const doctor = useDoctor();
  if (!doctor.allowed) return null;
  const answer = doctor.data;
  const unanswered = answer?.unanswered ?? [];
  const reports: DoctorReport[] = answer ? doctorReports(answer) : [];
  const several = reports.length > 1 || unanswered.length > 0;
  const findings: Finding[] = reports
    .flatMap((report) => report.checks.filter((check) => check.state !== "ok").map((check) => ({ instance: report.instance, check })))
    .sort((a, b) => RANK[a.check.state] - RANK[b.check.state]);
  const total = reports.reduce((sum, report) => sum + report.checks.length, 0);
  const fine = total - findings.length;
  const where = reports.map((report) => report.instance).join(", ");
  return (
    <Panel title="Needs attention">
      <ErrorNotice error={doctor.error} title="The node's checks could not be read" />
      {!answer && !doctor.error && <p role="status">Checking…</p>}
      {answer && (
        <>
          {findings.length === 0 ? (
            <p className="text-sm">
              <Badge tone="good">ok</Badge> All {total} checks pass on {where}.
            </p>
          ) : (
            <ul aria-label="Checks that need attention" className="flex flex-col gap-2 text-sm">
              {findings.map(({ instance, check }, index) => (
                <li key={`${instance}-${check.area}-${index}`}>
                  <Badge tone={TONES[check.state]}>{check.state}</Badge> {several && <span className="font-mono text-xs">{instance} · </span>}
                  <span className="font-medium">{check.area}</span>: {check.summary}
                  {check.hint && <p className="ml-1 text-slate-600 dark:text-slate-400">→ {check.hint}</p>}
                </li>
              ))}
            </ul>
          )}
          {unanswered.length > 0 && (
            <p role="note" className="mt-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
              No answer from {unanswered.join(", ")}: {unanswered.length === 1 ? "its" : "their"} checks are unknown.
            </p>
          )}
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            {findings.length > 0 && `${fine} other check${fine === 1 ? "" : "s"} pass. `}Checked on {where} at <When at={answer.checkedAt} kind="time" />; kai doctor shows the same.
          </p>
        </>
      )}
      <div className="mt-2">
        <Button onClick={() => void doctor.refetch()} disabled={doctor.isFetching}>
          Check again
        </Button>
      </div>
    </Panel>
  );
}
