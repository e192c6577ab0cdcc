/**
 * @module vault/rw-lock
 * A small readers–writer lock for the vault's in-memory key state. Secret and transit operations hold it
 * shared (they run concurrently, so their writes share group commits); unlock, lock, rekey and rotate
 * hold it exclusively, so no operation ever sees a keyring that is being replaced, and lock waits for
 * operations in flight before zeroing keys. Waiters are served in arrival order (a waiting writer is not
 * starved by a stream of readers).
 */
interface Waiter {
  exclusive: boolean;
  wake: () => void;
}

export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  async shared<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await work();
    } finally {
      this.readers--;
      this.drain();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await work();
    } finally {
      this.writer = false;
      this.drain();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.queue.length === 0 && this.canEnter(exclusive)) {
      this.enter(exclusive);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push({ exclusive, wake: resolve }));
  }

  private canEnter(exclusive: boolean): boolean {
    return exclusive ? !this.writer && this.readers === 0 : !this.writer;
  }

  private enter(exclusive: boolean): void {
    if (exclusive) this.writer = true;
    else this.readers++;
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (!this.canEnter(next.exclusive)) return;
      this.queue.shift();
      this.enter(next.exclusive);
      next.wake();
    }
  }
}
