/**
 * @module views/settings/ConfigPanel
 * The node's effective configuration (administrators; `GET /api/config`): every setting after the layers
 * (docs/configuration.md "Layers") were merged, shown as YAML (the configuration file's own format), with the secrets
 * the node redacted listed by path. "View as agent" shows one agent's view instead (`?agent=kClass:name`, its
 * overrides file applied): which file that is and which keys it sets, each one a shortcut to its explanation.
 * Below: where one setting's value comes from (ConfigExplain.tsx) and a node-wide change (ConfigChange.tsx). There is
 * no per-agent change: an agent's overrides are the operator's file, so the panel says where that file is.
 */
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { stringify } from "yaml";
import { AgentIdSchema, type NodeConfigResponse } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { ConfigExplain } from "./ConfigExplain";
import { ConfigChange } from "./ConfigChange";
import { agentFileName, configKeys } from "./config-words";

/** Picks whose view to show: empty for the node's, or an agent id (typed, or one of the agents the caller may see). */
function AgentPicker({ agent, onChange }: { agent: string; onChange(agent: string): void }) {
  const client = useClient();
  const canReadAgents = useCan("agents:read");
  const agents = useQuery({ queryKey: ["agents", "status"], queryFn: () => client.agents.status(), enabled: canReadAgents });
  const [typed, setTyped] = useState(agent);
  const [problem, setProblem] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = typed.trim();
    if (id === "") {
      setProblem(undefined);
      onChange("");
      return;
    }
    const checked = AgentIdSchema.safeParse(id);
    setProblem(checked.success ? undefined : "an agent id: kClass:name, e.g. kPlanner:main");
    if (checked.success) onChange(checked.data);
  };
  const known = agents.data?.agents.map((entry) => entry.id) ?? [];
  return (
    <form onSubmit={submit} noValidate aria-label="Configuration view" className="flex flex-wrap items-end gap-2">
      <div className="min-w-[16rem] flex-1">
        <TextField
          label="View as agent"
          hint="kClass:name (the agents this session may see are suggested); empty: the node-wide view"
          list="config-agent-ids"
          value={typed}
          onChange={(event) => setTyped(event.target.value)}
          error={problem}
          autoComplete="off"
          spellCheck={false}
        />
        <datalist id="config-agent-ids">
          {known.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
      </div>
      <Button type="submit">Show</Button>
      {agent !== "" && (
        <Button
          onClick={() => {
            setTyped("");
            setProblem(undefined);
            onChange("");
          }}
        >
          Node-wide view
        </Button>
      )}
    </form>
  );
}

/** Whose view this is: the agent's overrides file and the keys it sets (each opens its explanation), or that it has none. */
function AgentOverrides({ view, onExplain }: { view: NonNullable<NodeConfigResponse["agent"]>; onExplain(key: string): void }) {
  return (
    <section aria-label={`Overrides of ${view.id}`} className="space-y-1 rounded-md border border-slate-300 p-3 text-sm dark:border-slate-600">
      {view.source === null ? (
        <p>
          <span className="font-mono">{view.id}</span> has no overrides file: its view is the node&apos;s. The operator can add{" "}
          <span className="font-mono">{agentFileName(view.id)}</span> to the node&apos;s agents folder (docs/configuration.md &quot;Agent overrides&quot;).
        </p>
      ) : (
        <>
          <p>
            Overrides of <span className="font-mono">{view.id}</span> from <span className="font-mono break-all">{view.source}</span>
            {view.keys.length === 0 ? ", which sets no key." : ", which sets:"}
          </p>
          {view.keys.length > 0 && (
            <ul className="flex flex-wrap gap-2" aria-label={`Keys set by ${view.id}'s file`}>
              {view.keys.map((key) => (
                <li key={key}>
                  <Button onClick={() => onExplain(key)} aria-label={`Explain ${key}`} className="font-mono">
                    {key}
                  </Button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <p className="text-slate-700 dark:text-slate-300">
        This agent&apos;s own settings are changed in {view.source === null ? "its overrides file" : "that file"}, by the operator; the node never
        writes it. A change made here (below) is node-wide: it applies to every agent&apos;s view.
      </p>
    </section>
  );
}

export function ConfigPanel() {
  const client = useClient();
  const [agent, setAgent] = useState("");
  // A key picked from the agent's file opens its explanation; the count remounts the explanation even for the same key
  // again (after another key was typed there).
  const [explain, setExplain] = useState({ key: "", picks: 0 });
  const config = useQuery({ queryKey: configKeys.view(agent), queryFn: () => client.config.get(agent === "" ? {} : { agent }) });
  return (
    <Panel title="Effective configuration">
      <div className="space-y-3">
        <AgentPicker agent={agent} onChange={setAgent} />
        <ErrorNotice error={config.error} title="The configuration could not be read" />
        {config.isPending && <p role="status">Loading…</p>}
        {config.data && (
          <div className="space-y-2">
            <p className="text-sm">
              {config.data.agent ? (
                <>
                  The view of agent <span className="font-mono">{config.data.agent.id}</span>.{" "}
                </>
              ) : (
                "The node-wide view. "
              )}
              Version {config.data.version}.{" "}
              {config.data.redacted.length > 0 ? (
                <>
                  Redacted: <span className="font-mono text-xs">{config.data.redacted.join(", ")}</span>
                </>
              ) : (
                "No secret in the configuration."
              )}
            </p>
            {config.data.agent && <AgentOverrides view={config.data.agent} onExplain={(key) => setExplain(({ picks }) => ({ key, picks: picks + 1 }))} />}
            <pre aria-label="Configuration as YAML" tabIndex={0} className="max-h-[32rem] overflow-auto rounded-md bg-slate-100 p-3 font-mono text-xs dark:bg-slate-950">
              {stringify(config.data.config)}
            </pre>
          </div>
        )}
        <ConfigExplain key={explain.picks} agent={agent} initialKey={explain.key} />
        <ConfigChange agent={agent} />
      </div>
    </Panel>
  );
}
