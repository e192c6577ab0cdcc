/**
 * @module wait-at-most
 * Waits for `work` but no longer than `ms`: for stops and catch-ups that must not hang on a part that never answers
 * (a collector that is gone, a database connection pg cannot end). Resolves with `work`'s value, or undefined when the
 * time ran out first; a rejection of `work` within the time is passed on. The timer never keeps the process alive and
 * is cleared once `work` settles.
 */
export async function waitAtMost<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms).unref();
  });
  try {
    return await Promise.race([work, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
