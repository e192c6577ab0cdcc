/**
 * @module views/console/ConsoleFilters
 * The Console's filters: minimum level, one request, task, service or trace id, text, the log (security or agents: the
 * lines the node also writes to that log's files), and how far back (the time is taken
 * when the filter is applied: "the last 15 minutes" as of Apply). Checked with the protocol's `LogFilterSchema`
 * (the same the node applies) and applied on Apply, so a stream is not reopened on every keystroke. "Search files" looks
 * for the same filter in the node's log files instead (older lines than the live view holds). Three cells a row at
 * most (the buttons the ninth): an id pasted in must stay readable whole (in one row of nine, at 1280 pixels, the id
 * fields were some 45 pixels wide). Cells align at their tops, so a field's problem below it does not push the other
 * fields of its row down.
 */
import { useEffect, useState, type FormEvent } from "react";
import { LOG_LEVELS, LogFilterSchema, type LogFilter, type LogName } from "@kai/protocol";
import { Button } from "../../components/Button";
import { SelectField, TextField } from "../../components/Field";

/** The dedicated logs beside the system log (which holds every line), by name ("" for every line). */
const LOG_CHOICES: ReadonlyArray<[LogName | "", string]> = [
  ["", "Every line"],
  ["security", "Security log"],
  ["agents", "Agents log"],
];

/** How far back the lines may go, in minutes ("" for any time). */
const SINCE_CHOICES: ReadonlyArray<[string, string]> = [
  ["", "Any time"],
  ["5", "Last 5 minutes"],
  ["15", "Last 15 minutes"],
  ["60", "Last hour"],
  ["360", "Last 6 hours"],
];

export function ConsoleFilters({ filter, onApply, onSearchFiles }: { filter: LogFilter; onApply(filter: LogFilter): void; onSearchFiles(filter: LogFilter): void }) {
  const [level, setLevel] = useState(filter.level ?? "");
  const [requestId, setRequestId] = useState(filter.requestId ?? "");
  const [taskId, setTaskId] = useState(filter.taskId ?? "");
  const [serviceId, setServiceId] = useState(filter.serviceId ?? "");
  const [traceId, setTraceId] = useState(filter.traceId ?? "");
  const [q, setQ] = useState(filter.q ?? "");
  const [log, setLog] = useState(filter.log ?? "");
  const [sinceMinutes, setSinceMinutes] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});

  // A filter set from outside (a request id clicked in the table) shows in the fields.
  useEffect(() => {
    setLevel(filter.level ?? "");
    setRequestId(filter.requestId ?? "");
    setTaskId(filter.taskId ?? "");
    setServiceId(filter.serviceId ?? "");
    setTraceId(filter.traceId ?? "");
    setQ(filter.q ?? "");
    setLog(filter.log ?? "");
    if (filter.since === undefined) setSinceMinutes("");
  }, [filter]);

  function apply(event: FormEvent) {
    event.preventDefault();
    const parsed = checked();
    if (parsed) onApply(parsed);
  }

  /** The fields as a filter, or undefined (each field's problem shown) when one is not valid. */
  function checked(): LogFilter | undefined {
    const parsed = LogFilterSchema.safeParse({
      ...(level ? { level } : {}),
      ...(requestId.trim() ? { requestId: requestId.trim() } : {}),
      ...(taskId.trim() ? { taskId: taskId.trim() } : {}),
      ...(serviceId.trim() ? { serviceId: serviceId.trim() } : {}),
      // Trace ids are hex: one copied from a viewer that shows capitals still names the trace.
      ...(traceId.trim() ? { traceId: traceId.trim().toLowerCase() } : {}),
      ...(q.trim() ? { q: q.trim() } : {}),
      ...(log ? { log } : {}),
      ...(sinceMinutes ? { since: new Date(Date.now() - Number(sinceMinutes) * 60_000).toISOString() } : {}),
    });
    if (!parsed.success) {
      const next: Record<string, string> = {};
      for (const issue of parsed.error.issues) next[String(issue.path[0])] ??= issue.message;
      setErrors(next);
      return undefined;
    }
    setErrors({});
    return parsed.data;
  }

  return (
    <form onSubmit={apply} aria-label="Filter the log" className="grid items-start gap-3 sm:grid-cols-2 lg:grid-cols-3">
      <SelectField label="Level" value={level} error={errors.level} onChange={(event) => setLevel(event.target.value)}>
        <option value="">All levels</option>
        {LOG_LEVELS.map((name) => (
          <option key={name} value={name}>
            {name} and above
          </option>
        ))}
      </SelectField>
      <TextField label="Request id" value={requestId} error={errors.requestId} onChange={(event) => setRequestId(event.target.value)} />
      <TextField label="Task id" value={taskId} error={errors.taskId} onChange={(event) => setTaskId(event.target.value)} />
      <TextField label="Service id" value={serviceId} error={errors.serviceId} onChange={(event) => setServiceId(event.target.value)} />
      <TextField label="Trace id" value={traceId} error={errors.traceId} onChange={(event) => setTraceId(event.target.value)} />
      <TextField label="Text" type="search" value={q} error={errors.q} onChange={(event) => setQ(event.target.value)} />
      <SelectField label="Log" value={log} error={errors.log} onChange={(event) => setLog(event.target.value)}>
        {LOG_CHOICES.map(([name, label]) => (
          <option key={name} value={name}>
            {label}
          </option>
        ))}
      </SelectField>
      <SelectField label="Since" value={sinceMinutes} onChange={(event) => setSinceMinutes(event.target.value)}>
        {SINCE_CHOICES.map(([minutes, label]) => (
          <option key={minutes} value={minutes}>
            {label}
          </option>
        ))}
      </SelectField>
      <div className="flex flex-wrap gap-2 self-end sm:col-span-2 lg:col-span-1">
        <Button type="submit" look="primary">
          Apply
        </Button>
        <Button
          onClick={() => {
            const parsed = checked();
            if (parsed) onSearchFiles(parsed);
          }}
        >
          Search files
        </Button>
        <Button
          onClick={() => {
            setErrors({});
            onApply({});
          }}
        >
          Reset
        </Button>
      </div>
    </form>
  );
}
