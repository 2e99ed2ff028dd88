// One full garbage collection once the loop has been quiet for a while after a pass. V8 collects
// only when it allocates, so an agent that goes idle would keep the garbage of its last compile
// (and, after the cold start, of the LIST pages and the first full build) committed for as long
// as nothing changes: tens of MiB of RSS (bench/README.md, "The agent in cluster mode").
//
// During a burst of changes the passes come back to back and the loop is never quiet: V8 then
// lets each pass's garbage (model update, compile, plans, rendered lines: 5-25 MiB) pile up until
// its heap limit, and that climb is the agent's RSS peak. So a pass also starts with a full
// collection when the heap has grown by more than `burstMarginBytes` since the last one. 16 MiB
// was measured (bench/README.md, "Sixth pass"): a collection every 4-5 passes of a burst, ~80 ms
// each at 5,000 pods; 32 MiB never triggered, 8 MiB doubled the collections for the same peak.
// Needs `--expose-gc` (the DaemonSet's NODE_OPTIONS); without it this does nothing.

import { getHeapStatistics } from 'node:v8';
import { log } from '../util/log.js';

const MiB = 1024 * 1024;

export class IdleGc {
  private timer: NodeJS.Timeout | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;
  /** Heap used after the last full collection this class made: the live heap, roughly. */
  private liveBytes: number | undefined;

  constructor(
    private readonly gc: (() => unknown) | undefined = globalThis.gc,
    /** Quiet time after a pass before collecting. */
    private readonly quietMs = 2000,
    /** At most one idle collection in this time (a steady trickle of changes costs little CPU). */
    private readonly minIntervalMs = 10_000,
    /** Growth of the heap since the last collection that makes a pass start with one. */
    private readonly burstMarginBytes = 16 * MiB,
    private readonly heapUsed: () => number = () => getHeapStatistics().used_heap_size,
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
      this.collect(gc, 'idle');
    }, wait);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  /**
   * A pass starts: no idle collection in the middle of it, and a full collection now if the
   * heap has grown by more than the burst margin since the last one (none before the first).
   */
  passStarting(): void {
    this.cancel();
    const gc = this.gc;
    if (!gc || this.liveBytes === undefined) return;
    if (this.heapUsed() - this.liveBytes > this.burstMarginBytes) this.collect(gc, 'burst');
  }

  /** The agent stops: no collection after it. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private collect(gc: () => unknown, why: 'idle' | 'burst'): void {
    const before = this.heapUsed();
    const t0 = performance.now();
    gc();
    const ms = performance.now() - t0;
    const after = this.heapUsed();
    this.liveBytes = after;
    log.info(
      `${why}: collected garbage, heap used ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB in ${ms.toFixed(0)} ms`,
      2,
    );
  }
}
