/**
 * @module views/settings/ConfigPanel
 * The node's effective configuration (administrators; `GET /api/config`): every setting after defaults, file,
 * environment and flags, shown as YAML (the configuration file's own format), with the secrets the node redacted
 * listed by path. Read-only: the configuration is changed in the node's file or environment.
 */
import { useQuery } from "@tanstack/react-query";
import { stringify } from "yaml";
import { useClient } from "../../app/session";
import { Panel } from "../../components/Page";
import { ErrorNotice } from "../../components/ErrorNotice";

export function ConfigPanel() {
  const client = useClient();
  const config = useQuery({ queryKey: ["settings", "config"], queryFn: () => client.config.get() });
  return (
    <Panel title="Effective configuration">
      <ErrorNotice error={config.error} />
      {config.isPending && <p role="status">Loading…</p>}
      {config.data && (
        <div className="space-y-2">
          <p className="text-sm">
            Version {config.data.version}.{" "}
            {config.data.redacted.length > 0 ? (
              <>
                Redacted: <span className="font-mono text-xs">{config.data.redacted.join(", ")}</span>
              </>
            ) : (
              "No secret in the configuration."
            )}
          </p>
          <pre aria-label="Configuration as YAML" tabIndex={0} className="max-h-[32rem] overflow-auto rounded-md bg-slate-100 p-3 font-mono text-xs dark:bg-slate-950">
            {stringify(config.data.config)}
          </pre>
        </div>
      )}
    </Panel>
  );
}
