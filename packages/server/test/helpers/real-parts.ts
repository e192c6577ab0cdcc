/**
 * The rule for tests that need a real server program (PostgreSQL, Redis): on a machine without it the test is
 * skipped with a message saying what is missing and how to get it; under `CI=true` a missing part is a failure.
 */
export function missingPart(what: string, howToGet: string): string {
  const message = `${what} is not available: ${howToGet}`;
  if (process.env.CI === "true") throw new Error(`${message} (CI=true: a missing part fails the run)`);
  console.warn(`skipped: ${message}`);
  return message;
}
