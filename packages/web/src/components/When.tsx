/**
 * @module components/When
 * A point in time on a page: written by `format-date` as `kind` says (a full date and time by default), in a <time>
 * element whose `dateTime` keeps the exact instant for machines and whose title gives the full date, time and zone
 * (so a time of day shown alone still tells its day on a hover) and the instant in UTC. Absent, it reads `never` (a
 * secret never used, a peer never heard); not a time, it reads as it came.
 */
import { formatInstant, instantTitle, NEVER, readInstant, type Instant, type TimeKind } from "./format-date";

export function When({ at, kind = "date-time", never = NEVER }: { at: Instant | null | undefined; kind?: TimeKind; never?: string }) {
  if (at === null || at === undefined || at === "") return <span>{never}</span>;
  const date = readInstant(at);
  if (date === undefined) return <span>{String(at)}</span>;
  return (
    <time dateTime={date.toISOString()} title={instantTitle(date.getTime())}>
      {formatInstant(date.getTime(), kind)}
    </time>
  );
}
