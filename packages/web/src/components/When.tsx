/**
 * @module components/When
 * A moment as people read it: the local date and time, in a <time> element whose `dateTime` keeps the exact
 * instant for machines and whose title shows it in full. `null` reads "never" (a secret never used, a peer never heard).
 */
export function When({ at, never = "never" }: { at: string | null | undefined; never?: string }) {
  if (!at) return <span>{never}</span>;
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return <span>{at}</span>;
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}
    </time>
  );
}
