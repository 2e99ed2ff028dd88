// One full garbage collection once the loop has been quiet for a while after a pass. V8 collects
// only when it allocates, so an agent that goes idle would keep the garbage of its last compile
// (and, after the cold start, of the LIST pages and the first full build) committed for as long
// as nothing changes: tens of MiB of RSS (bench/README.md, "The agent in cluster mode").
// Needs `--expose-gc` (the DaemonSet's NODE_OPTIONS); without it this does nothing.

import { log } from '../util/log.js';

const MiB = 1024 * 1024;

export class IdleGc {
  private timer: NodeJS.Timeout | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly gc: (() => unknown) | undefined = globalThis.gc,
    /** Quiet time after a pass before collecting. */
    private readonly quietMs = 2000,
    /** At most one collection in this time (a steady trickle of changes costs little CPU). */
    private readonly minIntervalMs = 10_000,
  ) {}

  get enabled(): boolean {
    return this.gc !== undefined;
  }

  /** A pass ended: collect once the loop stays quiet for `quietMs`. */
  passEnded(): void {
    const gc = this.gc;
    if (!gc) return;
    this.cancel();
    const wait = Math.max(this.quietMs, this.lastAt + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastAt = Date.now();
      const before = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      gc();
      const ms = performance.now() - t0;
      const after = process.memoryUsage().heapUsed;
      log.info(
        `idle: collected garbage, heap used ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB in ${ms.toFixed(0)} ms`,
        2,
      );
    }, wait);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  /** A pass starts (or the agent stops): no collection in the middle of it. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
