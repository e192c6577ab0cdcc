/**
 * @module cluster/singleton-jobs
 * The work exactly one instance of a node may do at a time: lease sweeps and the mass-expiry guard, active
 * health checks, event-log compaction, federation links. Each job is started when this instance becomes the
 * leader and stopped when it stops being it (or shuts down), in registration order and reverse. In one
 * process the instance is always the leader, so every job simply runs. Jobs that write guard their writes
 * themselves too (conditional on revisions), so a leader that lost its lock a moment ago cannot double anything.
 */
import type { Logger } from "../logging/logger.js";
import type { Leadership } from "./cluster-types.js";

export interface SingletonJob {
  /** Shown in `GET /api/cluster` (e.g. `lease-sweeps`). */
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export class SingletonJobs {
  private readonly jobs: SingletonJob[] = [];
  private readonly active = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  /** Transitions run one after another, so a quick lose-win cannot interleave a stop with a start. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly leadership: Leadership,
    private readonly logger: Logger,
  ) {}

  add(job: SingletonJob): this {
    this.jobs.push(job);
    return this;
  }

  /** Names of the jobs running on this instance now. */
  get running(): string[] {
    return this.jobs.filter((job) => this.active.has(job.name)).map((job) => job.name);
  }

  /** Every job's name, running here or not. */
  get names(): string[] {
    return this.jobs.map((job) => job.name);
  }

  start(): Promise<void> {
    this.unsubscribe = this.leadership.onChange((leader) => void this.transition(leader));
    return this.transition(this.leadership.isLeader);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.transition(false);
  }

  private transition(leader: boolean): Promise<void> {
    this.queue = this.queue.then(() => (leader ? this.startAll() : this.stopAll()));
    return this.queue;
  }

  private async startAll(): Promise<void> {
    for (const job of this.jobs) {
      if (this.active.has(job.name)) continue;
      try {
        await job.start();
        this.active.add(job.name);
      } catch (error) {
        this.logger.error({ err: error, job: job.name }, "a singleton job could not start");
      }
    }
    if (this.active.size > 0) this.logger.info({ jobs: this.running }, "this instance runs the singleton jobs");
  }

  private async stopAll(): Promise<void> {
    const was = this.active.size;
    for (const job of [...this.jobs].reverse()) {
      if (!this.active.delete(job.name)) continue;
      try {
        await job.stop();
      } catch (error) {
        this.logger.error({ err: error, job: job.name }, "a singleton job did not stop cleanly");
      }
    }
    if (was > 0) this.logger.info("this instance no longer runs the singleton jobs");
  }
}
