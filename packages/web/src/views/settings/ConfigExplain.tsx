/**
 * @module views/settings/ConfigExplain
 * Where one setting's value comes from (`GET /api/config/explain?key=[&agent=]`): every layer present on the node,
 * lowest first, with its source (a file, the environment, the command line, the API), whether it sets the key and its
 * value there, and which layer wins; in an agent's view the `agent` layer (its overrides file) is among them. Also the
 * lock that holds the key, if any, and whether a node-wide change applies at once.
 */
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { ConfigKeySchema, type ConfigExplainResponse } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { configKeys, shownValue } from "./config-words";

function Layers({ explained }: { explained: ConfigExplainResponse }) {
  const where = explained.agent ? ` for ${explained.agent}` : "";
  return (
    <div className="space-y-2 text-sm">
      <p>
        <span className="font-mono">{explained.key}</span>
        {where} is <span className="font-mono">{shownValue(explained.value)}</span>, from the <strong>{explained.winner}</strong> layer.{" "}
        {explained.locked
          ? `Locked by the ${explained.locked.layer} layer (${explained.locked.source}, ${explained.locked.key}).`
          : explained.live
            ? "A node-wide change applies at once."
            : "A node-wide change needs a restart (it is refused through the API)."}
      </p>
      <div className="overflow-x-auto">
        <table className="min-w-full text-left text-sm" aria-label={`Layers of ${explained.key}${where}`}>
          <thead>
            <tr className="border-b border-slate-300 dark:border-slate-600">
              <th scope="col" className="py-1 pr-3">Layer</th>
              <th scope="col" className="py-1 pr-3">Source</th>
              <th scope="col" className="py-1 pr-3">Sets it</th>
              <th scope="col" className="py-1 pr-3">Value there</th>
            </tr>
          </thead>
          <tbody>
            {explained.layers.map((layer) => (
              <tr key={`${layer.layer}:${layer.source}`} data-testid={`layer-${layer.layer}`} className="border-b border-slate-200 dark:border-slate-700">
                <td className="py-1 pr-3">
                  {layer.layer} {layer.layer === explained.winner && <Badge tone="good">wins</Badge>}
                </td>
                <td className="py-1 pr-3 font-mono text-xs break-all">{layer.source}</td>
                <td className="py-1 pr-3">{layer.set ? "yes" : "no"}</td>
                <td className="py-1 pr-3 font-mono text-xs break-all">
                  {layer.set ? shownValue(layer.value) : "—"}
                  {layer.env && ` (from $${layer.env})`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function ConfigExplain({ agent, initialKey }: { agent: string; initialKey: string }) {
  const client = useClient();
  const [typed, setTyped] = useState(initialKey);
  const [key, setKey] = useState(initialKey);
  const [problem, setProblem] = useState<string>();
  const explained = useQuery({
    queryKey: configKeys.explain(key, agent),
    queryFn: () => client.config.explain(key, agent === "" ? {} : { agent }),
    enabled: key !== "",
    retry: false,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = ConfigKeySchema.safeParse(typed.trim());
    setProblem(checked.success ? undefined : "a dotted setting name such as logging.level");
    if (checked.success) setKey(checked.data);
  };
  return (
    <section aria-label="Explain a setting" className="space-y-2 border-t border-slate-300 pt-3 dark:border-slate-600">
      <h3 className="text-sm font-semibold">Where a setting comes from{agent !== "" && <span className="font-normal"> (as {agent})</span>}</h3>
      <form onSubmit={submit} noValidate aria-label="Explain a setting" className="flex flex-wrap items-end gap-2">
        <div className="min-w-[16rem] flex-1">
          <TextField label="Setting" hint="a dotted name, e.g. logging.level or agents.planner.model" value={typed} onChange={(event) => setTyped(event.target.value)} error={problem} autoComplete="off" spellCheck={false} />
        </div>
        <Button type="submit">Explain</Button>
      </form>
      <ErrorNotice error={explained.error} title="The setting could not be explained" />
      {explained.isFetching && !explained.data && <p role="status">Loading…</p>}
      {explained.data && <Layers explained={explained.data} />}
    </section>
  );
}
