/**
 * @module views/agents/StepsTable
 * The plan's steps as a table, the graph's text alternative (screen readers, people who prefer tables): id,
 * capability, what it waits on, state in words (and its review: kReviewer's verdict, or "reviewing"), who runs it,
 * attempts; and the selected step's details (times, review with its reasons, output, error).
 */
import { Badge } from "../../components/Badge";
import { When } from "../../components/When";
import type { Review, StepRun } from "@kai/protocol";
import type { Tone } from "../../components/Badge";
import type { LaidStep } from "./plan-layout";
import { stateTone } from "./states";

const CELL = "px-2 py-1.5 align-top";

const REVIEW_TONE: Record<Review["state"], Tone> = { reviewing: "warn", approved: "good", rejected: "bad" };

/**
 * The review a step shows: its verdict, or "reviewing" while its current attempt is being reviewed (a "reviewing"
 * left by an attempt the node stopped during, and ran again, is not current).
 */
export function currentReview(run: StepRun | undefined): Review | undefined {
  const review = run?.review;
  if (!review || review.state !== "reviewing") return review;
  return run.state === "running" && review.attempt === run.attempts ? review : undefined;
}

/** The review's words: "reviewing", "review approved", "review rejected" (the word, not only its colour). */
export const reviewWords = (review: Review) => (review.state === "reviewing" ? "reviewing" : `review ${review.state}`);

export function ReviewBadge({ review }: { review: Review }) {
  return <Badge tone={REVIEW_TONE[review.state]}>{reviewWords(review)}</Badge>;
}

/** A verdict in full: who gave it, the score, and the reasons. */
export function ReviewDetails({ review }: { review: Review }) {
  return (
    <div className="space-y-1">
      <p>
        <ReviewBadge review={review} />
        {review.reviewer && <span className="ml-2 font-mono text-xs">by {review.reviewer}</span>}
        {review.score !== undefined && <span className="ml-2">score {review.score}</span>}
      </p>
      {review.reasons && review.reasons.length > 0 && (
        <ul className="list-disc pl-5">
          {review.reasons.map((reason, index) => (
            <li key={index}>{reason}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function StepsTable({ steps, runs, selected, onSelect }: { steps: LaidStep[]; runs: readonly StepRun[]; selected: string | undefined; onSelect(id: string): void }) {
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm" aria-label="Steps">
        <thead className="border-b border-slate-200 dark:border-slate-700">
          <tr>
            <th scope="col" className={CELL}>Step</th>
            <th scope="col" className={CELL}>Capability</th>
            <th scope="col" className={CELL}>Waits on</th>
            <th scope="col" className={CELL}>State</th>
            <th scope="col" className={CELL}>Assignee</th>
            <th scope="col" className={CELL}>Attempts</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((step) => (
            <tr key={step.id} className={`border-b border-slate-100 dark:border-slate-800 ${step.id === selected ? "bg-sky-50 dark:bg-sky-950" : ""}`}>
              <th scope="row" className={`${CELL} font-mono`}>
                <button type="button" className="text-sky-800 underline dark:text-sky-300" aria-label={`Details of step ${step.id}`} onClick={() => onSelect(step.id)}>
                  {step.id}
                </button>
              </th>
              <td className={`${CELL} font-mono text-xs`}>{step.capability}</td>
              <td className={`${CELL} font-mono text-xs`}>{step.dependsOn.length === 0 ? "nothing" : step.dependsOn.join(", ")}</td>
              <td className={CELL}>
                <Badge tone={stateTone(step.state)}>{step.state}</Badge>
                {(() => {
                  const review = currentReview(runs.find((run) => run.id === step.id));
                  return review && <> <ReviewBadge review={review} /></>;
                })()}
              </td>
              <td className={`${CELL} font-mono text-xs`}>{step.assignee ?? "not yet"}</td>
              <td className={CELL}>{runs.find((run) => run.id === step.id)?.attempts ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StepDetails({ run }: { run: StepRun }) {
  return (
    <section aria-label={`Step ${run.id}`} className="space-y-2 text-sm">
      <h3 className="font-semibold">Step {run.id}</h3>
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1">
        <dt>State</dt>
        <dd>
          <Badge tone={stateTone(run.state)}>{run.state}</Badge>
        </dd>
        <dt>Assignee</dt>
        <dd className="font-mono text-xs">{run.assignee ?? "not yet"}</dd>
        <dt>Attempts</dt>
        <dd>{run.attempts}</dd>
        {currentReview(run) && (
          <>
            <dt>Review</dt>
            <dd>
              <ReviewDetails review={currentReview(run)!} />
            </dd>
          </>
        )}
        <dt>Started</dt>
        <dd>
          <When at={run.startedAt} never="not yet" />
        </dd>
        <dt>Finished</dt>
        <dd>
          <When at={run.finishedAt} never="not yet" />
        </dd>
      </dl>
      {run.error && (
        <p className="rounded-md border border-red-300 bg-red-50 p-2 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
          Error <code>{run.error.code}</code>: {run.error.message}
        </p>
      )}
      {run.output !== undefined && <JsonBlock label={`Output of step ${run.id}`} value={run.output} />}
    </section>
  );
}

/** JSON shown as text, scrollable and focusable (keyboard users can scroll it). */
export function JsonBlock({ label, value }: { label: string; value: unknown }) {
  return (
    <pre tabIndex={0} aria-label={label} className="max-h-80 overflow-auto rounded-md bg-slate-100 p-2 font-mono text-xs text-slate-900 dark:bg-slate-800 dark:text-slate-100">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
