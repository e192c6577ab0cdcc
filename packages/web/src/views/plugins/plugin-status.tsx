/**
 * @module views/plugins/plugin-status
 * Two pieces of the Plugins page that say why something is wrong: a plugin's run state with why it is not running
 * (an `overloaded` mark when the CPU watchdog stopped it), and the listing's problems that are not tied to one
 * plugin's folder (a missing `plugins.paths` entry; a change made on another instance of the cluster that this
 * instance did not apply, `field: "cluster"`).
 */
import type { PluginListResponse, PluginRuntime } from "@kai/protocol";
import { Badge } from "../../components/Badge";
import { pluginTone } from "./plugin-tones";
import { isOverloaded } from "./plugin-words";

export function RunState({ runtime, withReason = true }: { runtime: PluginRuntime; withReason?: boolean }) {
  // The node's code (`lastEnd`); nodes from before it had only the watchdog's wording in `reason`.
  const overloaded = runtime.state !== "running" && (runtime.lastEnd === "overloaded" || (runtime.lastEnd === undefined && isOverloaded(runtime.reason)));
  return (
    <span>
      <Badge tone={pluginTone(runtime.state)}>{runtime.state}</Badge>
      {overloaded && (
        <>
          {" "}
          <Badge tone="bad">overloaded</Badge>
        </>
      )}
      {withReason && runtime.reason && runtime.state !== "running" && runtime.state !== "disabled" && (
        <span className="block text-xs text-slate-700 dark:text-slate-300">{overloaded ? `stopped by the CPU watchdog: ${runtime.reason}` : runtime.reason}</span>
      )}
    </span>
  );
}

export function PluginProblems({ problems }: { problems: PluginListResponse["errors"] }) {
  if (problems.length === 0) return null;
  return (
    <section aria-label="Problems on this instance" className="mt-3 text-sm">
      <h3 className="font-semibold">Problems on this instance</h3>
      <ul className="list-disc pl-5 text-red-900 dark:text-red-200">
        {problems.map((problem) => (
          <li key={`${problem.file}:${problem.field ?? ""}:${problem.message}`}>
            {problem.field === "cluster" && (
              <>
                <Badge tone="bad">not applied here</Badge>{" "}
              </>
            )}
            <span className="font-mono text-xs break-all">{problem.file}</span>
            {problem.field && problem.field !== "cluster" ? ` (${problem.field})` : ""}: {problem.message}
          </li>
        ))}
      </ul>
    </section>
  );
}
