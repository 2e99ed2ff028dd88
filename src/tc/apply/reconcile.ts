// Brings every representor of the node to its desired pipeline: read (one tc process), plan
// (pure), write (one `tc -batch` per device that changes). A device that fails is reported and
// retried with backoff by the caller; the others go on.

import type { DevicePipeline, NodePipeline } from '../ir.js';
import type { Generation } from '../layout.js';
import { classify, type DeviceState } from './device-state.js';
import { planDevice, type DevicePlan } from './plan-device.js';
import { parseFilterDump } from './parse-filters.js';
import { command, type TcRunner } from './tc-runner.js';
import { splitJsonDocuments } from './json-stream.js';
import { execa } from 'execa';

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

export interface ReadDevices {
  /** Names of the netdevs that exist. */
  links(): Promise<Set<string>>;
  /** qdisc kind per device that has an ingress-capable qdisc. */
  ingressQdiscs(): Promise<Map<string, 'clsact' | 'ingress'>>;
  /** Raw `tc -j filter show dev X ingress|egress` documents, per device, in order. */
  filterDumps(devices: string[]): Promise<{ ingress: unknown[]; egress: unknown[] }[]>;
}

/** Reads through the tc runner: three processes however many devices there are. */
export function kernelReader(runner: TcRunner, tcBinary = 'tc', netns?: string): ReadDevices {
  const ip = command('ip', netns);
  const tc = command(tcBinary, netns);
  return {
    async links() {
      const r = await execa(ip.file, [...ip.args, '-j', 'link', 'show'], { reject: false });
      if (r.exitCode !== 0) throw new Error(`ip -j link show: ${r.stderr.trim()}`);
      const list = JSON.parse(r.stdout || '[]') as { ifname?: string }[];
      return new Set(list.map((l) => l.ifname ?? '').filter(Boolean));
    },
    async ingressQdiscs() {
      const out = new Map<string, 'clsact' | 'ingress'>();
      for (const q of (await runner.json(['qdisc', 'show'])) as { kind?: string; dev?: string }[]) {
        if ((q.kind === 'clsact' || q.kind === 'ingress') && q.dev) out.set(q.dev, q.kind);
      }
      return out;
    },
    async filterDumps(devices) {
      if (devices.length === 0) return [];
      const input =
        devices.map((d) => `filter show dev ${d} ingress\nfilter show dev ${d} egress`).join('\n') + '\n';
      const r = await execa(tc.file, [...tc.args, '-s', '-j', '-batch', '-'], { input, reject: false });
      if (r.exitCode !== 0) throw new Error(`tc filter show: ${r.stderr.trim()}`);
      const docs = splitJsonDocuments(r.stdout);
      if (docs.length !== 2 * devices.length) {
        throw new Error(`tc filter show: expected ${2 * devices.length} dumps, got ${docs.length}`);
      }
      const list = (d: unknown) => (Array.isArray(d) ? d : [d]);
      return devices.map((_, i) => ({ ingress: list(docs[2 * i]), egress: list(docs[2 * i + 1]) }));
    },
  };
}

export class Reconciler {
  /** Devices the agent has programmed (or found programmed), so that it can clean them up later. */
  private readonly known = new Set<string>();
  private readonly live = new Map<string, Generation>();
  private discovered = false;

  constructor(
    private readonly runner: TcRunner,
    private readonly reader: ReadDevices,
    private readonly ctZone: number,
  ) {}

  /** Generation live on a device after the last reconcile. */
  generationOf(device: string): Generation | undefined {
    return this.live.get(device);
  }

  async readStates(devices: string[]): Promise<Map<string, DeviceState>> {
    const qdiscs = await this.reader.ingressQdiscs();
    const withQdisc = devices.filter((d) => qdiscs.has(d));
    const dumps = await this.reader.filterDumps(withQdisc);
    const states = new Map<string, DeviceState>();
    for (const d of devices) states.set(d, classify(d, undefined, []));
    withQdisc.forEach((d, i) =>
      states.set(
        d,
        classify(
          d,
          qdiscs.get(d),
          parseFilterDump(dumps[i]!.ingress, this.ctZone),
          parseFilterDump(dumps[i]!.egress),
        ),
      ),
    );
    return states;
  }

  /** At the first reconcile, find devices that carry the agent's filters from an earlier run. */
  private async discover(): Promise<void> {
    if (this.discovered) return;
    const qdiscs = await this.reader.ingressQdiscs();
    const devices = [...qdiscs.keys()].sort();
    const dumps = await this.reader.filterDumps(devices);
    devices.forEach((d, i) => {
      const s = classify(d, qdiscs.get(d), parseFilterDump(dumps[i]!.ingress, this.ctZone));
      if (s.entryPresent || s.generations[0].length + s.generations[1].length > 0) this.known.add(d);
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
        if (desired.get(d)!.chains.length > 0) {
          outcomes.push({ device: d, kind: 'noop', writes: 0, error: `device ${d} does not exist` });
        }
      }
    }
    const states = await this.readStates(present);
    for (const d of present) {
      const plan = planDevice(desired.get(d)!, states.get(d)!, this.ctZone);
      if (plan.lines.length === 0) {
        if (plan.generation !== undefined) this.live.set(d, plan.generation);
        outcomes.push({ device: d, kind: plan.kind, writes: 0 });
        if (plan.kind === 'noop' && desired.get(d)!.chains.length === 0) this.known.delete(d);
        continue;
      }
      const failure = await this.runner.batch(plan.lines);
      if (failure) {
        outcomes.push({
          device: d,
          kind: plan.kind,
          writes: failure.line,
          error: `device ${d}: tc batch line ${failure.line} failed: ${failure.message} (line: ${failure.text})`,
        });
        this.known.add(d);
        continue;
      }
      outcomes.push({ device: d, kind: plan.kind, writes: plan.lines.length });
      if (plan.generation === undefined) this.live.delete(d);
      else this.live.set(d, plan.generation);
      if (plan.kind === 'cleanup') this.known.delete(d);
      else this.known.add(d);
    }
    return {
      outcomes,
      writes: outcomes.reduce((n, o) => n + o.writes, 0),
      failed: outcomes.filter((o) => o.error).map((o) => o.device),
    };
  }
}
