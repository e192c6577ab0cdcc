/**
 * Reading a node's `/metrics` text in tests: the value of one series, by name and its labels as the exposition writes
 * them (`method="GET",route="/x"`; none for an unlabelled series). `undefined` when the series is not there.
 */
export function sampleOf(exposition: string, name: string, labels = ""): number | undefined {
  const prefix = labels === "" ? `${name} ` : `${name}{${labels}} `;
  const line = exposition.split("\n").find((row) => row.startsWith(prefix));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}
