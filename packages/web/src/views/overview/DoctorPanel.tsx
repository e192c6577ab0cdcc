/**
 * @module views/overview/DoctorPanel
 * What on the node needs attention (`GET /api/doctor`, admin; the same checks as `kai doctor`): the checks that warn
 * or fail, each with what to do, and how many are fine. Shown to admins only: it names folders and files.
 */
import type { DoctorCheck } from "@kai/protocol";
import { Badge, type Tone } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { formatTime } from "../../components/charts/format";
import { useDoctor } from "./overview-queries";

const TONES: Record<DoctorCheck["state"], Tone> = { ok: "good", warn: "warn", fail: "bad" };
/** Failures first, then warnings, each in the node's order. */
const RANK: Record<DoctorCheck["state"], number> = { fail: 0, warn: 1, ok: 2 };

export function DoctorPanel() {
  const doctor = useDoctor();
  if (!doctor.allowed) return null;
  const answer = doctor.data;
  const attention = answer ? answer.checks.filter((check) => check.state !== "ok").sort((a, b) => RANK[a.state] - RANK[b.state]) : [];
  const fine = answer ? answer.checks.length - attention.length : 0;
  return (
    <Panel title="Needs attention">
      <ErrorNotice error={doctor.error} title="The node's checks could not be read" />
      {!answer && !doctor.error && <p role="status">Checking…</p>}
      {answer && (
        <>
          {attention.length === 0 ? (
            <p className="text-sm">
              <Badge tone="good">ok</Badge> All {answer.checks.length} checks pass on {answer.instance}.
            </p>
          ) : (
            <ul aria-label="Checks that need attention" className="flex flex-col gap-2 text-sm">
              {attention.map((check, index) => (
                <li key={`${check.area}-${index}`}>
                  <Badge tone={TONES[check.state]}>{check.state}</Badge> <span className="font-medium">{check.area}</span>: {check.summary}
                  {check.hint && <p className="ml-1 text-slate-600 dark:text-slate-400">→ {check.hint}</p>}
                </li>
              ))}
            </ul>
          )}
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            {attention.length > 0 && `${fine} other check${fine === 1 ? "" : "s"} pass. `}Checked on {answer.instance} at {formatTime(answer.checkedAt)}; kai doctor shows the same.
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
