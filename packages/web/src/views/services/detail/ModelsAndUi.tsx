/**
 * @module views/services/detail/ModelsAndUi
 * The models a service serves (what the gateway lists for it, or else what its record declares), a live check
 * (health and models through its connector, on request), and its own web UI in a sandboxed iframe: scripts and
 * forms may run, but never with this app's origin (no allow-same-origin), so the UI cannot read the session.
 */
import { useMutation } from "@tanstack/react-query";
import type { ServiceRecord } from "@kai/sdk";
import { Badge } from "../../../components/Badge";
import { Button } from "../../../components/Button";
import { ErrorNotice } from "../../../components/ErrorNotice";
import { Panel } from "../../../components/Page";
import { formatMs } from "../../../components/charts/format";
import { useClient } from "../../../app/session";
import { useGatewayModels } from "./detail-queries";
import { declaredModels, serviceUiUrl } from "./service-ui";

export function ModelsPanel({ record }: { record: ServiceRecord }) {
  const client = useClient();
  const gateway = useGatewayModels(record.id, record.capabilities.length > 0);
  const check = useMutation({ mutationFn: () => client.services.check(record.id) });
  const fromGateway = gateway.data && gateway.data.length > 0 ? gateway.data : undefined;
  const models = fromGateway ?? declaredModels(record);
  return (
    <Panel title="Models">
      {models.length === 0 ? (
        <p className="text-sm">No models known for this service.</p>
      ) : (
        <>
          <p className="mb-1 text-xs text-slate-600 dark:text-slate-400">{fromGateway ? "As the gateway lists them" : "As the record declares them"}</p>
          <ul aria-label="Models" className="flex flex-wrap gap-1 text-sm">
            {models.map((model) => (
              <li key={model} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs dark:bg-slate-800">
                {model}
              </li>
            ))}
          </ul>
        </>
      )}
      <ErrorNotice error={gateway.error} title="The gateway's model list could not be read" />
      <div className="mt-3 space-y-2">
        <Button onClick={() => check.mutate()} busy={check.isPending}>
          Check now
        </Button>
        <ErrorNotice error={check.error} title="The check could not run" />
        {check.data && (
          <p role="status" className="text-sm">
            <Badge tone={check.data.ok ? "good" : "bad"}>{check.data.ok ? "reachable" : "not reachable"}</Badge> in {formatMs(check.data.latencyMs)}
            {check.data.code && <span className="ml-1 font-mono">{check.data.code}</span>}
            {check.data.message && <span className="ml-1">{check.data.message}</span>}
            {check.data.models && <span className="ml-1">· {check.data.models.length} models listed</span>}
          </p>
        )}
      </div>
    </Panel>
  );
}

export function ServiceUiPanel({ record }: { record: ServiceRecord }) {
  const url = serviceUiUrl(record);
  if (!url) return null;
  return (
    <Panel title="Web UI">
      <p className="mb-2 text-sm">
        The service's own interface, isolated from this app.{" "}
        <a href={url} target="_blank" rel="noopener noreferrer" className="underline">
          Open it in a new tab
        </a>
      </p>
      <iframe
        src={url}
        title={`${record.name} web UI`}
        sandbox="allow-scripts allow-forms"
        referrerPolicy="no-referrer"
        loading="lazy"
        className="h-[32rem] w-full rounded border border-slate-200 bg-white dark:border-slate-700"
      />
    </Panel>
  );
}
