/**
 * @module views/services/detail/RecordPanel
 * The service's record as the registry holds it: what it is, where it is, who owns it and how it is called (the
 * credential by its vault name only; the registry never holds a value). The whole record as JSON under a
 * disclosure, for people who want every field.
 */
import type { ReactNode } from "react";
import type { ServiceRecord } from "@kai/sdk";
import { Panel } from "../../../components/Page";
import { When } from "../../../components/When";

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="break-words">{children}</dd>
    </>
  );
}

const list = (values: readonly string[]) => (values.length === 0 ? "none" : values.join(", "));

export function RecordPanel({ record }: { record: ServiceRecord }) {
  return (
    <Panel title="Record">
      <dl aria-label="Service record" className="grid grid-cols-[minmax(7rem,auto)_1fr] gap-x-4 gap-y-1 text-sm">
        <Row term="Id">
          <span className="font-mono">{record.id}</span>
        </Row>
        {record.description && <Row term="Description">{record.description}</Row>}
        <Row term="Type">{record.type}</Row>
        <Row term="Provider">{record.provider ?? "none"}</Row>
        <Row term="Address">{record.url ? <span className="font-mono">{record.url}</span> : "none"}</Row>
        <Row term="Capabilities">{list(record.capabilities)}</Row>
        <Row term="Tags">{list(record.tags)}</Row>
        <Row term="Owner">{record.owner}</Row>
        <Row term="Visibility">{record.visibility}</Row>
        <Row term="Trust">{record.trustLevel}</Row>
        {record.version && <Row term="Version">{record.version}</Row>}
        <Row term="Credential">{record.auth.type === "none" ? "none" : `${record.auth.type}${record.auth.credentialRef ? ` from ${record.auth.credentialRef}` : ""}`}</Row>
        {record.rateLimit && (
          <Row term="Limits">
            {[record.rateLimit.rpm && `${record.rateLimit.rpm} per minute`, record.rateLimit.tpm && `${record.rateLimit.tpm} tokens per minute`, record.rateLimit.concurrency && `${record.rateLimit.concurrency} at once`].filter(Boolean).join(", ")}
          </Row>
        )}
        <Row term="Health check">{record.healthCheck ? `${record.healthCheck.method} ${record.healthCheck.path} every ${record.healthCheck.interval} s` : "none"}</Row>
        <Row term="Lease">
          {record.ttl ? (
            <>
              {record.ttl} s; last heartbeat <When at={record.heartbeat} kind="time" />
            </>
          ) : (
            "no expiry"
          )}
        </Row>
        {record.origin && <Row term="Imported from">{record.origin}</Row>}
        <Row term="Registered">
          <When at={record.createdAt} />
        </Row>
        <Row term="Changed">
          <When at={record.updatedAt} />
        </Row>
      </dl>
      {record.endpoints.length > 0 && (
        <table className="mt-3 w-full text-left text-sm">
          <caption className="mb-1 text-left font-medium">Endpoints</caption>
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col">Path</th>
              <th scope="col">Capability</th>
            </tr>
          </thead>
          <tbody>
            {record.endpoints.map((endpoint) => (
              <tr key={`${endpoint.method} ${endpoint.path}`}>
                <td>{endpoint.method}</td>
                <td className="font-mono">{endpoint.path}</td>
                <td>{endpoint.capability ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details className="mt-3 text-sm">
        <summary className="cursor-pointer text-sky-800 underline dark:text-sky-300">Show the record as JSON</summary>
        <pre className="mt-2 max-h-96 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{JSON.stringify(record, null, 2)}</pre>
      </details>
    </Panel>
  );
}
