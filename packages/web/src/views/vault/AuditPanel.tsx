/**
 * @module views/vault/AuditPanel
 * The vault's audit log, newest first, with its MAC chain verified by the node (an edited, inserted or deleted entry
 * breaks the chain at that point, and the panel says where). Secret names appear only as the keyed HMACs the log
 * stores. Filters by outcome and operation are the server's own (`GET /api/vault/audit`). Scope `admin`.
 */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { AUDIT_OUTCOMES, type AuditEntry } from "@kai/protocol";
import type { AuditQueryInput } from "@kai/sdk";
import { useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { SelectField, TextField } from "../../components/Field";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { vaultKeys } from "./vault-queries";

const CELL = "px-2 py-1.5 align-top";
const LIMITS = [50, 200, 1000] as const;

export function AuditPanel() {
  const client = useClient();
  const [outcome, setOutcome] = useState("");
  const [operation, setOperation] = useState("");
  const [limit, setLimit] = useState<number>(LIMITS[0]);
  const query: AuditQueryInput = {
    order: "desc",
    limit,
    ...(outcome !== "" ? { outcome: outcome as AuditEntry["outcome"] } : {}),
    ...(operation.trim() !== "" ? { operation: operation.trim() } : {}),
  };
  const entries = useQuery({ queryKey: vaultKeys.audit(query), queryFn: () => client.vault.audit(query) });
  const verify = useQuery({ queryKey: vaultKeys.verify, queryFn: () => client.vault.verifyAudit() });

  return (
    <Panel title="Audit log">
      <div className="space-y-3">
        <div className="flex flex-wrap items-center gap-3" data-testid="audit-chain">
          {verify.isPending && <p role="status">Verifying the chain…</p>}
          {verify.data &&
            (verify.data.ok ? (
              <p className="flex items-center gap-2 text-sm">
                <Badge tone="good">chain verified</Badge> all {verify.data.entries} entries are intact
              </p>
            ) : (
              <p className="flex items-center gap-2 text-sm" role="alert">
                <Badge tone="bad">chain broken</Badge>
                {verify.data.brokenAt !== null ? `entry ${verify.data.brokenAt} does not verify: it or an entry before it was edited, inserted or deleted` : "the chain does not verify"}
              </p>
            ))}
          <Button busy={verify.isFetching} onClick={() => void verify.refetch()}>
            Verify again
          </Button>
        </div>
        <ErrorNotice error={verify.error} title="The chain could not be verified" />
        <div className="grid max-w-2xl grid-cols-1 gap-3 sm:grid-cols-3">
          <SelectField label="Outcome" value={outcome} onChange={(event) => setOutcome(event.target.value)}>
            <option value="">any</option>
            {AUDIT_OUTCOMES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </SelectField>
          <TextField label="Operation" value={operation} onChange={(event) => setOperation(event.target.value)} placeholder="e.g. secret.get" />
          <SelectField label="Entries" value={String(limit)} onChange={(event) => setLimit(Number(event.target.value))}>
            {LIMITS.map((value) => (
              <option key={value} value={value}>
                newest {value}
              </option>
            ))}
          </SelectField>
        </div>
        <ErrorNotice error={entries.error} title="The audit log could not be read" />
        {entries.data && entries.data.length === 0 && <p className="text-sm">No entries match.</p>}
        {entries.data && entries.data.length > 0 && (
          <div className="max-h-[32rem] overflow-auto">
            <table className="w-full text-left text-sm" aria-label="Audit entries">
              <thead className="sticky top-0 border-b border-slate-200 bg-white dark:border-slate-700 dark:bg-slate-900">
                <tr>
                  <th scope="col" className={CELL}>#</th>
                  <th scope="col" className={CELL}>When</th>
                  <th scope="col" className={CELL}>Who</th>
                  <th scope="col" className={CELL}>Operation</th>
                  <th scope="col" className={CELL}>Outcome</th>
                  <th scope="col" className={CELL}>Secret (HMAC)</th>
                  <th scope="col" className={CELL}>Reason</th>
                  <th scope="col" className={CELL}>Request</th>
                </tr>
              </thead>
              <tbody>
                {entries.data.map((entry) => (
                  <tr key={entry.seq} className="border-b border-slate-100 dark:border-slate-800">
                    <td className={CELL}>{entry.seq}</td>
                    <td className={CELL}>
                      <When at={entry.at} />
                    </td>
                    <td className={CELL}>{entry.actor ?? "—"}</td>
                    <td className={`${CELL} font-mono text-xs`}>{entry.operation}</td>
                    <td className={CELL}>
                      <Badge tone={entry.outcome === "allowed" ? "good" : entry.outcome === "denied" ? "warn" : "bad"}>{entry.outcome}</Badge>
                    </td>
                    <td className={`${CELL} font-mono text-xs`} title={entry.secret ?? undefined}>
                      {entry.secret ? `${entry.secret.slice(0, 24)}…` : "—"}
                    </td>
                    <td className={CELL}>{entry.reason ?? ""}</td>
                    <td className={`${CELL} font-mono text-xs`}>{entry.requestId ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Panel>
  );
}
