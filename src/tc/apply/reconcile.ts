// Brings every representor of the node to its desired pipeline: read (one tc process), plan
// (pure), write (one `tc -batch` per device that changes). Each device is isolated: a device that
// vanishes, prints unreadable JSON, cannot be planned or fails its batch is reported (and retried
// with backoff by the caller); the others go on.

import type { DevicePipeline, NodePipeline } from '../ir.js';
import { classify, type DeviceState } from './device-state.js';
import { planDevice, type DevicePlan } from './plan-device.js';
import { parseFilterDump } from './parse-filters.js';
import { ExternalCallError, type BatchFailure, type TcRunner } from './tc-runner.js';
import { splitJsonDocuments } from './json-stream.js';

export interface DeviceOutcome {
  device: string;
  kind: DevicePlan['kind'];
  writes: number;
  error?: string;
}

export interface ReconcileReport {
  outcomes: DeviceOutcome[];
  writes: number;
  failed: string[];
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
  /** Names of the netdevs that exist. */
  links(): Promise<Set<string>>;
  /** qdisc kind per device that has an ingress-capable qdisc. */
  ingressQdiscs(): Promise<Map<string, 'clsact' | 'ingress'>>;
  /** Raw `tc -j filter show dev X ingress|egress` documents per device, in order; throws on failure. */
  filterDumps(devices: string[]): Promise<FilterDump[]>;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads through the tc runner (which carries the tc binary, the namespace and the timeout): three
 * processes however many devices there are. The last two parameters are those of the earlier
 * signature, when this ran `ip` itself; the runner now runs it.
 */
export function kernelReader(runner: TcRunner, _tcBinary?: string, _netns?: string): ReadDevices {
  return {
    async links() {
      const list = (await runner.ipJson(['link', 'show'])) as { ifname?: unknown }[];
      return new Set(list.map((l) => (typeof l?.ifname === 'string' ? l.ifname : '')).filter(Boolean));
    },
    async ingressQdiscs() {
      const out = new Map<string, 'clsact' | 'ingress'>();
      for (const q of (await runner.json(['qdisc', 'show'])) as { kind?: unknown; dev?: unknown }[]) {
        if ((q?.kind === 'clsact' || q?.kind === 'ingress') && typeof q.dev === 'string')
          out.set(q.dev, q.kind);
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

export class Reconciler {
  /** Devices the agent has programmed (or found programmed), so that it can clean them up later. */
  private readonly known = new Set<string>();
  /** Per device, the absolute chain of each relative chain after the last reconcile. */
  private readonly live = new Map<string, readonly number[]>();
  private discovered = false;
  /** Devices whose first read (discovery) failed: read again at the next reconcile. */
  private readonly undiscovered = new Set<string>();

  constructor(
    private readonly runner: TcRunner,
    private readonly reader: ReadDevices,
    private readonly ctZone: number,
  ) {}

  /** A device's chain numbering (index = relative chain) after the last reconcile. */
  numberingOf(device: string): readonly number[] | undefined {
    return this.live.get(device);
  }

  /** Each device's state, or why it could not be read (never one device's problem for all). */
  async readStates(devices: string[]): Promise<Map<string, DeviceState | DumpFailure>> {
    const qdiscs = await this.reader.ingressQdiscs();
    const withQdisc = devices.filter((d) => qdiscs.has(d));
    const dumps = await readDumpsIsolated(this.reader, withQdisc);
    const states = new Map<string, DeviceState | DumpFailure>();
    for (const d of devices) states.set(d, classify(d, undefined, []));
    withQdisc.forEach((d, i) => states.set(d, this.stateOf(d, qdiscs.get(d), dumps[i]!)));
    return states;
  }

  private stateOf(
    device: string,
    qdisc: DeviceState['qdisc'],
    dump: FilterDump | DumpFailure,
  ): DeviceState | DumpFailure {
    if (isFailure(dump)) return dump;
    try {
      return classify(
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

  /** At the first reconcile, find devices that carry the agent's filters from an earlier run. */
  private async discover(): Promise<void> {
    if (this.discovered && this.undiscovered.size === 0) return;
    const qdiscs = await this.reader.ingressQdiscs();
    const devices = [...qdiscs.keys()].filter((d) => !this.discovered || this.undiscovered.has(d)).sort();
    const dumps = await readDumpsIsolated(this.reader, devices);
    this.undiscovered.clear();
    devices.forEach((d, i) => {
      const s = this.stateOf(d, qdiscs.get(d), dumps[i]!);
      if (isFailure(s)) this.undiscovered.add(d);
      else if (s.entryPresent || s.owned.length > 0) this.known.add(d);
    });
    this.discovered = true;
  }

  async reconcile(pipeline: NodePipeline): Promise<ReconcileReport> {
    await this.discover();
    const links = await this.reader.links();
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
        if (desired.get(d)!.chains.length > 0) {
          outcomes.push({ device: d, kind: 'noop', writes: 0, error: `device ${d} does not exist` });
        }
      }
    }
    const states = await this.readStates(present);
    for (const d of present) outcomes.push(await this.apply(desired.get(d)!, states.get(d)!));
    return {
      outcomes,
      writes: outcomes.reduce((n, o) => n + o.writes, 0),
      failed: outcomes.filter((o) => o.error).map((o) => o.device),
    };
  }

  /** Plans and writes one device; whatever goes wrong is this device's outcome only. */
  private async apply(want: DevicePipeline, state: DeviceState | DumpFailure): Promise<DeviceOutcome> {
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
    let failure: BatchFailure | undefined;
    try {
      failure = await this.runner.batch(plan.lines);
    } catch (e) {
      if (e instanceof ExternalCallError && e.reason === 'aborted') throw e;
      failure = { line: 0, text: '', message: message(e) };
    }
    if (failure) {
      // Make-before-break: the device is wholly on its old or its new rules; the next run converges.
      this.known.add(d);
      const where = failure.line > 0 ? `line ${failure.line} failed: ` : 'failed: ';
      const line = failure.text ? ` (line: ${failure.text})` : '';
      return {
        device: d,
        kind: plan.kind,
        writes: failure.line,
        error: `device ${d}: tc batch ${where}${failure.message}${line}`,
      };
    }
    if (plan.chains === undefined) this.live.delete(d);
    else this.live.set(d, plan.chains);
    if (plan.kind === 'cleanup') this.known.delete(d);
    else this.known.add(d);
    return { device: d, kind: plan.kind, writes: plan.lines.length };
  }
}
