/**
 * @module storage/postgres/pg-flush-loop
 * The group-commit loop both batching writers use (service writes, heartbeat times): work that arrives while a
 * flush is in flight waits and goes in the next one; the first flush after a quiet spell starts on `setImmediate`,
 * after this tick's promise jobs, so that writes issued together join one batch. The writers keep their own
 * queues; this only decides when `flush` runs, and never runs two at once.
 */
export class FlushLoop {
  private scheduled = false;
  private inFlight: Promise<void> | null = null;

  /** `flush` takes everything queued now and settles its callers; it must not throw. */
  constructor(
    private readonly hasWork: () => boolean,
    private readonly flush: () => Promise<void>,
  ) {}

  /** Call after queuing work. */
  schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Resolves once everything queued so far (and whatever queues meanwhile) is flushed. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.hasWork()) this.pump();
      else return;
    }
  }

  private pump(): void {
    if (this.inFlight || !this.hasWork()) return;
    this.inFlight = this.flush().finally(() => {
      this.inFlight = null;
      this.pump();
    });
  }
}
