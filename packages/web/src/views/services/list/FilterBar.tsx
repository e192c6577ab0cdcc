/**
 * @module views/services/list/FilterBar
 * Search and the list's filters (capability, tag, type, provider, owner, status, location, origin). Typed values
 * reach the address (and so the node) after a short pause, not on every key, so that typing "llama" asks once;
 * Enter applies at once. The choices of type, status and location come from the protocol's enums.
 */
import { useEffect, useId, useRef, useState } from "react";
import { KNOWN_CAPABILITIES, SERVICE_STATUSES, SERVICE_TYPES } from "@kai/protocol";
import { Button } from "../../../components/Button";
import { SelectField, TextField } from "../../../components/Field";
import type { FilterKey, FilterState } from "./filters";

const TYPING_PAUSE_MS = 300;

interface FilterBarProps {
  state: FilterState;
  errors: Partial<Record<FilterKey, string>>;
  onChange(key: FilterKey, value: string): void;
  onClear(): void;
}

/** A text filter that applies after a pause in typing, or on Enter. */
function TypedFilter({ label, value, error, hint, list, type = "text", onCommit }: { label: string; value: string; error?: string | undefined; hint?: string; list?: string; type?: string; onCommit(value: string): void }) {
  const [text, setText] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const commit = useRef(onCommit);
  commit.current = onCommit;
  // The address changed elsewhere (cleared, back button): show what it says.
  useEffect(() => setText(value), [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  const change = (next: string) => {
    setText(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => commit.current(next), TYPING_PAUSE_MS);
  };
  return (
    <TextField
      label={label}
      type={type}
      value={text}
      error={error}
      hint={hint}
      list={list}
      autoComplete="off"
      onChange={(event) => change(event.target.value)}
      onKeyDown={(event) => {
        if (event.key === "Enter") {
          clearTimeout(timer.current);
          commit.current(text);
        }
      }}
    />
  );
}

export function FilterBar({ state, errors, onChange, onClear }: FilterBarProps) {
  const capabilities = useId();
  const any = Object.values(state).some((value) => value !== "");
  return (
    <div role="search" aria-label="Find services" className="space-y-3 rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-700 dark:bg-slate-900">
      <TypedFilter label="Search" type="search" value={state.q} error={errors.q} hint="Id, name, description, provider, tags and capabilities." onCommit={(value) => onChange("q", value)} />
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <TypedFilter label="Capability" value={state.capability} error={errors.capability} list={capabilities} onCommit={(value) => onChange("capability", value)} />
        <datalist id={capabilities}>
          {KNOWN_CAPABILITIES.map((capability) => (
            <option key={capability} value={capability} />
          ))}
        </datalist>
        <TypedFilter label="Tag" value={state.tag} error={errors.tag} onCommit={(value) => onChange("tag", value)} />
        <SelectField label="Type" value={state.type} error={errors.type} onChange={(event) => onChange("type", event.target.value)}>
          <option value="">Any type</option>
          {SERVICE_TYPES.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </SelectField>
        <SelectField label="Status" value={state.status} error={errors.status} onChange={(event) => onChange("status", event.target.value)}>
          <option value="">Any status</option>
          {SERVICE_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </SelectField>
        <TypedFilter label="Provider" value={state.provider} error={errors.provider} onCommit={(value) => onChange("provider", value)} />
        <TypedFilter label="Owner" value={state.owner} error={errors.owner} onCommit={(value) => onChange("owner", value)} />
        <SelectField label="Location" value={state.location} error={errors.location} onChange={(event) => onChange("location", event.target.value)}>
          <option value="">This node</option>
          <option value="remote">From peers</option>
          <option value="all">This node and peers</option>
        </SelectField>
        <TypedFilter label="Origin (peer DID)" value={state.origin} error={errors.origin} onCommit={(value) => onChange("origin", value)} />
      </div>
      {any && <Button onClick={onClear}>Clear filters</Button>}
    </div>
  );
}
