/**
 * @module artifacts/key-lock
 * Runs async work one at a time per key (here: per blob digest), other keys in parallel. Committing a blob and
 * counting its reference, and releasing the last reference and removing the blob, must not interleave for one
 * digest: otherwise a delete could remove the file an upload of the same bytes has just been told exists.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      // The last one out removes the entry, so the map holds only keys with work pending.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
