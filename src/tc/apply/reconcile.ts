// Brings every representor of the node to its desired pipeline: read (one tc process), plan
// (pure), write (one `tc -batch` for all the devices that change). Only devices that may differ
// from their desired pipeline are read: those whose pipeline changed since their last successful
// write or verified read, those that failed, those never read; a full reconcile (the agent's
// periodic resync) reads them all and repairs drift (docs/reliability.md). Each device is
// isolated: a device that vanishes, prints unreadable JSON, cannot be planned or fails its lines
// is reported (and retried with backoff by the caller); the others go on.

import type { DevicePipeline, NodePipeline } from '../ir.js';
import { deviceStateOf, type DeviceState } from './device-state.js';
import { planDevice, type DevicePlan } from './plan-device.js';
import { parseFilterDump } from './parse-filters.js';
import { ExternalCallError, type BatchFailure, type OpenBatch, type TcRunner } from './tc-runner.js';
import { splitJsonDocuments } from './json-stream.js';
import { samePipeline } from './same-pipeline.js';
import { deviceOffload, type DeviceOffload } from './offload-state.js';
import type { RuleDeletion } from './rule-deletions.js';
import { ENTRY_CHAIN, ENTRY_PRIO } from '../layout.js';

export interface DeviceOutcome {
  device: string;
  kind: DevicePlan['kind'];
  writes: number;
  error?: string;
}

export interface ReconcileReport {
  /** One per device read (or gone) in this reconcile; devices not read are not listed. */
  outcomes: DeviceOutcome[];
  writes: number;
  failed: string[];
  /** Devices whose state was read from the kernel (qdisc and filters; discovery included). */
  read: number;
  /** `tc -batch` processes that wrote (one, plus one per failing device that had others after it). */
  batches: number;
}

export interface ReconcileOptions {
  /**
   * Read every device, repairing drift (the periodic resync, default). When false, only devices
   * that may differ are read: desired pipeline changed since the last successful write or verified
   * read, last attempt failed, netdev recreated (new ifindex), or never read.
   */
  full?: boolean;
}

/** One device's raw `tc -j filter show` documents. */
export interface FilterDump {
  ingress: unknown[];
  egress: unknown[];
}

/** A device whose filters could not be read; the message names the command and the device. */
export interface DumpFailure {
  error: string;
}

export interface ReadDevices {
  /** The netdevs that exist, by name, with their ifindex (a recreated netdev gets a new one). */
  links(): Promise<Map<string, number | undefined>>;
  /** qdisc kind per device that has an ingress-capable qdisc. */
  ingressQdiscs(): Promise<Map<string, 'clsact' | 'ingress'>>;
  /** Raw `tc -j filter show dev X ingress|egress` documents per device, in order; throws on failure. */
  filterDumps(devices: string[]): Promise<FilterDump[]>;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads through the tc runner (which carries the tc binary, the namespace and the timeout, and
 * starts every process): three processes however many devices there are.
 */
export function kernelReader(runner: TcRunner): ReadDevices {
  return {
    async links() {
      const list = (await runner.ipJson(['link', 'show'])) as { ifname?: unknown; ifindex?: unknown }[];
      const out = new Map<string, number | undefined>();
      for (const l of list) {
        if (typeof l?.ifname === 'string' && l.ifname)
          out.set(l.ifname, typeof l.ifindex === 'number' ? l.ifindex : undefined);
      }
      return out;
    },
    async ingressQdiscs() {
      const out = new Map<string, 'clsact' | 'ingress'>();
      for (const listed of (await runner.json(['qdisc', 'show'])) as { kind?: unknown; dev?: unknown }[]) {
        if ((listed?.kind === 'clsact' || listed?.kind === 'ingress') && typeof listed.dev === 'string')
          out.set(listed.dev, listed.kind);
      }
      return out;
    },
    async filterDumps(devices) {
      if (devices.length === 0) return [];
      const lines = devices.flatMap((d) => [`filter show dev ${d} ingress`, `filter show dev ${d} egress`]);
      const shown =
        devices.length === 1
          ? `tc -s -j filter show dev ${devices[0]}`
          : `tc -s -j filter show (${devices.length} devices)`;
      const out = await runner.readBatch(lines);
      let docs: unknown[];
      try {
        docs = splitJsonDocuments(out);
      } catch (e) {
        throw new ExternalCallError('output', `${shown}: unreadable JSON output: ${message(e)}`);
      }
      if (docs.length !== 2 * devices.length) {
        throw new ExternalCallError(
          'output',
          `${shown}: expected ${2 * devices.length} dumps, got ${docs.length}`,
        );
      }
      const list = (d: unknown) => (Array.isArray(d) ? d : [d]);
      return devices.map((_, i) => ({ ingress: list(docs[2 * i]), egress: list(docs[2 * i + 1]) }));
    },
  };
}

/**
 * Every device's dump, or why it could not be read. One process for all devices; when it fails
 * for a reason that may concern one device (a device gone, unreadable JSON), each device is read
 * on its own so that only the guilty ones fail. A timeout or a missing tc fails them all at once
 * (reading one by one would multiply the wait).
 */
export async function readDumpsIsolated(
  reader: ReadDevices,
  devices: string[],
): Promise<(FilterDump | DumpFailure)[]> {
  try {
    return await reader.filterDumps(devices);
  } catch (e) {
    if (e instanceof ExternalCallError && e.reason === 'aborted') throw e;
    const whole = e instanceof ExternalCallError && (e.reason === 'timeout' || e.reason === 'not-found');
    if (whole || devices.length === 1) return devices.map((d) => ({ error: `device ${d}: ${message(e)}` }));
  }
  const out: (FilterDump | DumpFailure)[] = [];
  for (const d of devices) {
    try {
      out.push((await reader.filterDumps([d]))[0]!);
    } catch (e) {
      if (e instanceof ExternalCallError && e.reason === 'aborted') throw e;
      out.push({ error: `device ${d}: ${message(e)}` });
    }
  }
  return out;
}

function isFailure<T extends object>(d: T | DumpFailure): d is DumpFailure {
  return 'error' in d;
}

/** What the agent last wrote or verified on a device: it needs no read while this still holds. */
interface Settled {
  pipeline: DevicePipeline;
  ifindex: number | undefined;
}

/** A device's plan waiting for its turn in a write batch. */
interface PendingWrite {
  want: DevicePipeline;
  plan: DevicePlan;
}

export class Reconciler {
  /** Devices the agent has programmed (or found programmed), so that it can clean them up later. */
  private readonly known = new Set<string>();
  /** Per device, the absolute chain of each relative chain after the last reconcile. */
  private readonly live = new Map<string, readonly number[]>();
  private discovered = false;
  /** Devices whose first read (discovery) failed: read again at the next reconcile. */
  private readonly undiscovered = new Set<string>();
  /** Devices on their desired pipeline as of their last write or read (see ReconcileOptions). */
  private readonly settled = new Map<string, Settled>();
  /** Devices whose batch is running: the numbering it installs, or 'cleanup'. */
  private readonly inFlight = new Map<string, readonly number[] | 'cleanup'>();
  /** Devices that lost live rules to someone else while their batch ran: not settled by it. */
  private readonly disturbed = new Set<string>();
  /** The offload state of each device with filters, as readOffload last found it. */
  private lastOffload = new Map<string, DeviceOffload>();

  constructor(
    private readonly runner: TcRunner,
    private readonly reader: ReadDevices,
    private readonly ctZone: number,
  ) {}

  /** A device's chain numbering (index = relative chain) after the last reconcile. */
  numberingOf(device: string): readonly number[] | undefined {
    return this.live.get(device);
  }

  /**
   * A deletion seen by the rule monitor. True when it removed rules a device depends on (its
   * qdisc, its entry filter, a filter or chain of its live numbering), on a device that would not
   * otherwise be read: the device is read again at the next reconcile, which the caller should
   * start. The agent's own deletions (the chains an update replaced, a cleanup) are not live.
   */
  noticeDeletion(e: RuleDeletion): boolean {
    const d = e.device;
    const flight = this.inFlight.get(d);
    if (flight === 'cleanup') return false;
    // Not settled and not being written: the next reconcile reads it anyway.
    if (flight === undefined && !this.settled.has(d)) return false;
    const numbering = flight ?? this.live.get(d) ?? [];
    const live =
      e.what === 'qdisc' ||
      (e.chain === ENTRY_CHAIN ? e.what === 'chain' || e.pref === ENTRY_PRIO : numbering.includes(e.chain));
    if (!live) return false;
    if (flight !== undefined) this.disturbed.add(d);
    else this.settled.delete(d);
    return true;
  }

  /**
   * Each device's state, or why it could not be read (never one device's problem for all).
   * `qdiscs`: the qdiscs as this reconcile already read them (discovery), instead of reading again.
   */
  async readStates(
    devices: string[],
    qdiscs?: Map<string, 'clsact' | 'ingress'>,
  ): Promise<Map<string, DeviceState | DumpFailure>> {
    const states = new Map<string, DeviceState | DumpFailure>();
    if (devices.length === 0) return states;
    qdiscs ??= await this.reader.ingressQdiscs();
    const withQdisc = devices.filter((d) => qdiscs.has(d));
    const dumps = await readDumpsIsolated(this.reader, withQdisc);
    for (const d of devices) states.set(d, deviceStateOf(d, undefined, []));
    withQdisc.forEach((d, i) => states.set(d, this.stateOf(d, qdiscs.get(d), dumps[i]!)));
    return states;
  }

  /**
   * After a reconcile: the offload state of every device of the pipeline that exists and carries
   * filters. Only devices written in this reconcile (or not seen yet) are read again from the kernel
   * (one tc process for all of them): a filter's placement is decided when it is installed.
   */
  async readOffload(
    pipeline: { devices: readonly DevicePipeline[] },
    report: ReconcileReport,
  ): Promise<DeviceOffload[]> {
    const last = this.lastOffload;
    const failed = new Set(report.failed);
    const written = new Set(report.outcomes.filter((o) => o.writes > 0).map((o) => o.device));
    const devices = pipeline.devices
      .filter((d) => d.chains.length > 0 && !failed.has(d.device))
      .map((d) => d.device);
    const stale = devices.filter((d) => written.has(d) || !last.has(d));
    const states =
      stale.length > 0 ? await this.readStates(stale) : new Map<string, DeviceState | DumpFailure>();
    const next = new Map<string, DeviceOffload>();
    for (const d of devices) {
      const s = states.get(d);
      // A device whose read-back failed keeps its last known state (none: it is left out).
      const known = s && !('error' in s) ? deviceOffload(s) : last.get(d);
      if (known) next.set(d, known);
    }
    this.lastOffload = next;
    return [...next.values()];
  }

  private stateOf(
    device: string,
    qdisc: DeviceState['qdisc'],
    dump: FilterDump | DumpFailure,
  ): DeviceState | DumpFailure {
    if (isFailure(dump)) return dump;
    try {
      return deviceStateOf(
        device,
        qdisc,
        parseFilterDump(dump.ingress, this.ctZone),
        parseFilterDump(dump.egress),
      );
    } catch (e) {
      return {
        error: `device ${device}: cannot read its filters (tc -s -j filter show dev ${device}): ${message(e)}`,
      };
    }
  }

  /**
   * At the first reconcile, find devices that carry the agent's filters from an earlier run. What
   * it read is returned (the devices' states and the qdiscs): the same reconcile uses it instead
   * of reading again.
   */
  private async discover(): Promise<{
    read: Map<string, DeviceState | DumpFailure>;
    qdiscs?: Map<string, 'clsact' | 'ingress'>;
  }> {
    const read = new Map<string, DeviceState | DumpFailure>();
    if (this.discovered && this.undiscovered.size === 0) return { read };
    const qdiscs = await this.reader.ingressQdiscs();
    const devices = [...qdiscs.keys()].filter((d) => !this.discovered || this.undiscovered.has(d)).sort();
    const dumps = await readDumpsIsolated(this.reader, devices);
    this.undiscovered.clear();
    devices.forEach((d, i) => {
      const s = this.stateOf(d, qdiscs.get(d), dumps[i]!);
      read.set(d, s);
      if (isFailure(s)) this.undiscovered.add(d);
      else if (s.entryPresent || s.owned.length > 0) this.known.add(d);
    });
    this.discovered = true;
    return { read, qdiscs };
  }

  /** The device is on `want` as of its last write or read, and is the same netdev. */
  private isSettled(want: DevicePipeline, ifindex: number | undefined): boolean {
    const s = this.settled.get(want.device);
    return s !== undefined && s.ifindex === ifindex && samePipeline(s.pipeline, want);
  }

  async reconcile(pipeline: NodePipeline, options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const full = options.full ?? true;
    // Two independent reads, run side by side: each is one process (about 100 ms in the TCG lab).
    const [{ read: discovered, qdiscs }, links] = await Promise.all([this.discover(), this.reader.links()]);
    const desired = new Map<string, DevicePipeline>();
    for (const d of pipeline.devices) desired.set(d.device, d);
    // Devices programmed before but no longer wanted get an empty pipeline: cleanup.
    for (const d of this.known) {
      if (!desired.has(d))
        desired.set(d, { device: d, kind: 'vf', networks: [], interfaces: [], chains: [] });
    }
    const outcomes: DeviceOutcome[] = [];
    const present = [...desired.keys()].filter((d) => links.has(d)).sort();
    for (const d of [...desired.keys()].sort()) {
      if (!links.has(d)) {
        this.known.delete(d);
        this.undiscovered.delete(d);
        this.settled.delete(d);
        if (desired.get(d)!.chains.length > 0) {
          outcomes.push({ device: d, kind: 'noop', writes: 0, error: `device ${d} does not exist` });
        }
      }
    }
    const toRead = present.filter((d) => full || !this.isSettled(desired.get(d)!, links.get(d)));
    const readNow = toRead.filter((d) => !discovered.has(d));
    const states = await this.readStates(readNow, qdiscs);
    for (const [d, s] of discovered) if (desired.has(d) && links.has(d)) states.set(d, s);
    // A device without the entry filter that gets rules will write: its tc process starts now and
    // runs while the plans are made (a process start is about 100 ms in the TCG lab).
    const installs = toRead.some((d) => {
      const s = states.get(d);
      return s !== undefined && !isFailure(s) && !s.entryPresent && desired.get(d)!.chains.length > 0;
    });
    const early = installs ? this.runner.openBatch?.() : undefined;
    const pending: PendingWrite[] = [];
    for (const d of toRead) {
      const want = desired.get(d)!;
      const planned = this.plan(want, states.get(d)!);
      if ('lines' in planned) pending.push({ want, plan: planned });
      else {
        if (planned.error) this.settled.delete(d);
        else this.settled.set(d, { pipeline: want, ifindex: links.get(d) });
        outcomes.push(planned);
      }
    }
    const batches = await this.write(pending, outcomes, links, early);
    outcomes.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    return {
      outcomes,
      writes: outcomes.reduce((n, o) => n + o.writes, 0),
      failed: outcomes.filter((o) => o.error).map((o) => o.device),
      read: discovered.size + readNow.length,
      batches,
    };
  }

  /** One device's plan, or its outcome when it has nothing to write or cannot be planned. */
  private plan(want: DevicePipeline, state: DeviceState | DumpFailure): DevicePlan | DeviceOutcome {
    const d = want.device;
    if (isFailure(state)) return { device: d, kind: 'noop', writes: 0, error: state.error };
    let plan: DevicePlan;
    try {
      plan = planDevice(want, state, this.ctZone);
    } catch (e) {
      return {
        device: d,
        kind: 'noop',
        writes: 0,
        error: `device ${d}: cannot plan its update: ${message(e)}`,
      };
    }
    if (plan.lines.length === 0) {
      if (plan.chains !== undefined) this.live.set(d, plan.chains);
      if (plan.kind === 'noop' && want.chains.length === 0) this.known.delete(d);
      return { device: d, kind: plan.kind, writes: 0 };
    }
    return plan;
  }

  /**
   * Writes the plans in one `tc -batch` (no -force: tc stops at the first failing line). The
   * failing line's device fails; the devices before it are done; those after it go into a new
   * batch. Each device's switch comes after its own new chains (make-before-break per device), so a
   * device whose lines stopped early is still wholly on its old rules. A batch that gives no
   * failing line (a timeout, an abort, tc missing) leaves every device of it unknown: all fail,
   * and are read again at the next reconcile. Returns the number of processes.
   */
  private async write(
    pending: PendingWrite[],
    outcomes: DeviceOutcome[],
    links: Map<string, number | undefined>,
    early?: OpenBatch,
  ): Promise<number> {
    let queue = pending;
    let processes = 0;
    // Started before the plans were known, and nothing to write after all (every plan failed).
    if (queue.length === 0 && early) await early.close();
    while (queue.length > 0) {
      const lines: string[] = [];
      const starts: number[] = [];
      for (const p of queue) {
        starts.push(lines.length);
        lines.push(...p.plan.lines);
      }
      // Until its lines are known to have run, a device may hold anything between old and new.
      for (const p of queue) {
        this.settled.delete(p.want.device);
        this.inFlight.set(p.want.device, p.plan.kind === 'cleanup' ? 'cleanup' : (p.plan.chains ?? []));
      }
      let failure: BatchFailure | undefined;
      processes++;
      try {
        const started = early;
        early = undefined;
        if (started) {
          started.write(lines);
          failure = await started.close();
        } else failure = await this.runner.batch(lines);
      } catch (e) {
        if (e instanceof ExternalCallError && e.reason === 'aborted') throw e;
        failure = { line: 0, text: '', message: message(e) };
      } finally {
        for (const p of queue) this.inFlight.delete(p.want.device);
      }
      if (!failure) {
        for (const p of queue) outcomes.push(this.written(p, links));
        return processes;
      }
      if (failure.line < 1 || failure.line > lines.length) {
        for (const p of queue) outcomes.push(this.failedWrite(p, { ...failure, line: 0 }));
        return processes;
      }
      // The device whose lines contain the failing one: the last one starting before it.
      let k = starts.length - 1;
      while (starts[k]! >= failure.line) k--;
      for (const p of queue.slice(0, k)) outcomes.push(this.written(p, links));
      outcomes.push(this.failedWrite(queue[k]!, { ...failure, line: failure.line - starts[k]! }));
      queue = queue.slice(k + 1);
    }
    return processes;
  }

  /** Bookkeeping of a device whose lines all ran. */
  private written(p: PendingWrite, links: Map<string, number | undefined>): DeviceOutcome {
    const { want, plan } = p;
    const d = want.device;
    if (plan.chains === undefined) this.live.delete(d);
    else this.live.set(d, plan.chains);
    if (plan.kind === 'cleanup') this.known.delete(d);
    else this.known.add(d);
    // Rules deleted by someone else while the batch ran: read the device again next time.
    if (this.disturbed.delete(d)) this.settled.delete(d);
    else this.settled.set(d, { pipeline: want, ifindex: links.get(d) });
    return { device: d, kind: plan.kind, writes: plan.lines.length };
  }

  /** A device whose lines failed at `failure.line` (its own numbering; 0: unknown). */
  private failedWrite(p: PendingWrite, failure: BatchFailure): DeviceOutcome {
    const d = p.want.device;
    // Make-before-break: the device is wholly on its old or its new rules; the next run converges.
    this.known.add(d);
    this.settled.delete(d);
    this.disturbed.delete(d);
    const where = failure.line > 0 ? `line ${failure.line} failed: ` : 'failed: ';
    const line = failure.text ? ` (line: ${failure.text})` : '';
    return {
      device: d,
      kind: p.plan.kind,
      writes: failure.line,
      error: `device ${d}: tc batch ${where}${failure.message}${line}`,
    };
  }
}
