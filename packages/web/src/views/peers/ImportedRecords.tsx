/**
 * @module views/peers/ImportedRecords
 * The records this node imported from one origin (`services.list({ origin })`), with when each signed statement runs
 * out unless the origin refreshes it. Needs `services:read` besides `federation:admin`.
 */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useClient } from "../../app/session";
import { Badge, toneOf } from "../../components/Badge";
import { ErrorNotice } from "../../components/ErrorNotice";
import { When } from "../../components/When";
import { peerKeys } from "./peers-queries";

const CELL = "px-2 py-1 align-top";
/** Records shown per origin; the services page filters by origin for the rest. */
const SHOWN = 100;

export function ImportedRecords({ did, label }: { did: string; label: string }) {
  const client = useClient();
  const records = useQuery({ queryKey: peerKeys.imported(did), queryFn: () => client.services.list({ origin: did, limit: SHOWN }) });
  if (records.error) return <ErrorNotice error={records.error} title="The imported records could not be read" />;
  if (!records.data) return <p role="status">Loading records…</p>;
  const services = records.data.services;
  if (services.length === 0) return <p className="text-sm">Nothing imported from {label} yet.</p>;
  return (
    <div className="space-y-1">
      <table className="w-full text-left text-sm" aria-label={`Records imported from ${label}`}>
        <thead className="border-b border-slate-200 dark:border-slate-700">
          <tr>
            <th scope="col" className={CELL}>Service</th>
            <th scope="col" className={CELL}>Type</th>
            <th scope="col" className={CELL}>Capabilities</th>
            <th scope="col" className={CELL}>Status</th>
            <th scope="col" className={CELL}>Statement runs out</th>
          </tr>
        </thead>
        <tbody>
          {services.map((service) => (
            <tr key={service.id} className="border-b border-slate-100 dark:border-slate-800">
              <th scope="row" className={`${CELL} font-normal`}>
                <Link to={`/services/${encodeURIComponent(service.id)}`} className="text-sky-800 underline dark:text-sky-300">
                  {service.name}
                </Link>
              </th>
              <td className={CELL}>{service.type}</td>
              <td className={CELL}>{service.capabilities.join(", ")}</td>
              <td className={CELL}>
                <Badge tone={toneOf(service.status)}>{service.status}</Badge>
              </td>
              <td className={CELL}>
                <When at={service.originExpiresAt} never="—" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {records.data.nextCursor !== null && <p className="text-xs">Showing the first {SHOWN}; the services page filters by origin for all of them.</p>}
    </div>
  );
}
