/**
 * @module views/agents/PlanGraph
 * A task's plan drawn as a graph (SVG): one box per step, laid out in layers by dependency (plan-layout), arrows
 * from each step to those that wait on it. Each box shows the step's id, capability and state in words, coloured
 * by state and dashed while unfinished, so colour is never the only signal; a reviewed step's state line adds its
 * review ("reviewing", "review approved", "review rejected") when the runs are given. Every box is a button (Tab reaches it,
 * Enter or Space selects it) that shows the step's details; the steps table below is the same content for screen
 * readers and for people who prefer a table.
 */
import type { KeyboardEvent } from "react";
import type { StepRun } from "@kai/protocol";
import { currentReview, reviewWords } from "./StepsTable";
import { GRAPH_FILL, isUnsettled, stateTone } from "./states";
import { NODE_HEIGHT, NODE_WIDTH, type PlanLayout } from "./plan-layout";

/** The box's inside: text runs under its edge instead of over it. */
const TEXT_CLIP = "plan-box-text";

/**
 * A word drawn whole but clipped at the box's edge: the text stays the step's own (so the box's name, which says it
 * whole, contains what is drawn: axe's label-content-name-mismatch), only the overflow is hidden.
 */
function Clipped({ text, ...rest }: { text: string; x: number; y: number; className: string }) {
  return (
    <text clipPath={`url(#${TEXT_CLIP})`} {...rest}>
      {text}
    </text>
  );
}

export function PlanGraph({ layout, runs, selected, onSelect }: { layout: PlanLayout; runs?: readonly StepRun[]; selected: string | undefined; onSelect(id: string): void }) {
  const key = (id: string) => (event: KeyboardEvent) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onSelect(id);
    }
  };
  return (
    <div className="overflow-x-auto">
      <svg
        role="group"
        aria-label="Plan graph"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        className="text-slate-600 dark:text-slate-300"
      >
        <defs>
          <clipPath id={TEXT_CLIP}>
            <rect x={4} y={0} width={NODE_WIDTH - 10} height={NODE_HEIGHT} />
          </clipPath>
          <marker id="plan-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="fill-current" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            d={`M ${edge.x1} ${edge.y1} C ${edge.x1 + 28} ${edge.y1}, ${edge.x2 - 28} ${edge.y2}, ${edge.x2} ${edge.y2}`}
            className="fill-none stroke-current"
            strokeWidth={1.5}
            markerEnd="url(#plan-arrow)"
            aria-hidden="true"
          />
        ))}
        {layout.steps.map((step) => {
          const isSelected = step.id === selected;
          const review = currentReview(runs?.find((run) => run.id === step.id));
          const stateText = review ? `${step.state}, ${reviewWords(review)}` : step.state;
          return (
            <g
              key={step.id}
              role="button"
              tabIndex={0}
              aria-pressed={isSelected}
              aria-label={`Step ${step.id}, ${step.capability}, ${stateText}${step.assignee ? `, by ${step.assignee}` : ""}`}
              data-state={step.state}
              onClick={() => onSelect(step.id)}
              onKeyDown={key(step.id)}
              className="cursor-pointer outline-none focus-visible:[&>rect]:stroke-sky-600 focus-visible:[&>rect]:[stroke-width:4px]"
              transform={`translate(${step.x} ${step.y})`}
            >
              <rect
                width={NODE_WIDTH}
                height={NODE_HEIGHT}
                rx={8}
                className={GRAPH_FILL[stateTone(step.state)]}
                strokeWidth={isSelected ? 3 : 1.5}
                strokeDasharray={isUnsettled(step.state) ? "6 4" : undefined}
              />
              {/* The spaces between the words: SVG text runs together otherwise, and the box's name (its words in order,
                  axe's label-content-name-mismatch) would not match what is drawn. */}
              <Clipped text={step.id} x={10} y={20} className="fill-slate-900 text-sm font-semibold dark:fill-slate-50" />{" "}
              <Clipped text={step.capability} x={10} y={38} className="fill-slate-800 text-xs dark:fill-slate-200" />{" "}
              <Clipped text={stateText} x={10} y={55} className="fill-slate-900 text-xs font-medium dark:fill-slate-50" />
            </g>
          );
        })}
      </svg>
    </div>
  );
}
