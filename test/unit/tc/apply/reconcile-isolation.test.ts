// Per-device isolation of the apply layer: a device that vanishes between the link listing and the
// filter dump, a device whose dump is garbage JSON, a device whose batch fails or times out, each
// fail only that device; the others get their rules. Errors name the command and the device.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { kernelReader, Reconciler } from '../../../../src/tc/apply/reconcile.js';
import { ExternalCallError, type BatchFailure, type TcRunner } from '../../../../src/tc/apply/tc-runner.js';
import { compileNode } from '../../../../src/tc/compile-node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../../src/tc/compile-options.js';
import type { NodePipeline } from '../../../../src/tc/ir.js';
import { clusterObjects, load, policy } from '../fixtures.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

/** Node w1 with a deny-all policy: rep1 and rep2 (network accel) carry filters. */
function pipeline(): NodePipeline {
  const deny = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const { snapshot, model } = load(clusterObjects([deny]));
  return compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
}

type DeviceFault = 'gone' | 'garbage' | 'truncated' | 'write-fails' | 'write-times-out';

/** A stand-in for tc: every device has a clsact qdisc and no filters, except for its faults. */
class FakeTc implements TcRunner {
  writes = 0;
  readonly written = new Map<string, number>();
  readonly readCalls: string[][] = [];
  constructor(
    private readonly devices: string[],
    private readonly faults: Map<string, DeviceFault>,
  ) {}
  private deviceOf(line: string): string {
    return /dev (\S+)/.exec(line)?.[1] ?? '';
  }
  async batch(lines: string[]): Promise<BatchFailure | undefined> {
    const dev = this.deviceOf(lines[0]!);
    this.writes += lines.length;
    if (this.faults.get(dev) === 'write-fails')
      return { line: 1, text: lines[0]!, message: 'Error: Operation not permitted' };
    if (this.faults.get(dev) === 'write-times-out')
      return { line: 0, text: '', message: 'tc -batch: timed out after 50 ms (killed; see --tc-timeout)' };
    this.written.set(dev, lines.length);
    return undefined;
  }
  async json(args: string[]): Promise<unknown[]> {
    expect(args).to.deep.equal(['qdisc', 'show']);
    return this.devices.map((dev) => ({ kind: 'clsact', dev }));
  }
  async readBatch(lines: string[]): Promise<string> {
    this.readCalls.push(lines);
    const out: string[] = [];
    for (const line of lines) {
      const dev = this.deviceOf(line);
      const fault = this.faults.get(dev);
      if (fault === 'gone')
        throw new ExternalCallError('exit', `tc -s -j -batch: Cannot find device "${dev}"`);
      if (fault === 'garbage') out.push('[{"protocol": nonsense');
      else if (fault === 'truncated') out.push('[{"protocol":"all"');
      else out.push('[]');
    }
    return out.join('\n');
  }
  async ipJson(args: string[]): Promise<unknown[]> {
    expect(args).to.deep.equal(['link', 'show']);
    return this.devices.map((ifname) => ({ ifname }));
  }
}

async function run(faults: Record<string, DeviceFault>) {
  const p = pipeline();
  const devices = p.devices.map((d) => d.device).sort();
  const tc = new FakeTc(devices, new Map(Object.entries(faults)));
  const report = await new Reconciler(tc, kernelReader(tc), ZONE).reconcile(p);
  return { report, tc, devices };
}

describe('reconcile: one device never stops the others', () => {
  it('the pipeline under test has at least two devices with filters', () => {
    const withFilters = pipeline().devices.filter((d) => d.chains.length > 0);
    expect(withFilters.map((d) => d.device)).to.include.members(['rep1', 'rep2']);
  });

  for (const fault of ['gone', 'garbage', 'truncated'] as const) {
    it(`a device whose dump fails (${fault}) fails alone, named with the command`, async () => {
      const { report, tc } = await run({ rep1: fault });
      expect(report.failed).to.deep.equal(['rep1']);
      const err = report.outcomes.find((o) => o.device === 'rep1')!.error!;
      expect(err).to.match(/^device rep1: tc -s -j/);
      expect(tc.written.has('rep1')).to.equal(false);
      expect(tc.written.get('rep2')).to.be.greaterThan(0);
      // One read of every device, then one per device to isolate the guilty one.
      expect(tc.readCalls[0]!.length).to.be.greaterThan(2);
      expect(tc.readCalls.some((c) => c.length === 2 && c[0] === 'filter show dev rep1 ingress')).to.equal(
        true,
      );
    });
  }

  it('a parser exception on one device fails only that device, naming device and command', async () => {
    const p = pipeline();
    const devices = p.devices.map((d) => d.device).sort();
    const tc = new FakeTc(devices, new Map());
    const reader = kernelReader(tc);
    // A filter whose fields throw when read: whatever the parser trips on, it is one device's.
    const explosive = {
      get options(): unknown {
        throw new TypeError('cannot read this filter');
      },
      get chain(): unknown {
        throw new TypeError('cannot read this filter');
      },
    };
    const inner = reader.filterDumps.bind(reader);
    reader.filterDumps = async (list) =>
      (await inner(list)).map((d, i) => (list[i] === 'rep2' ? { ...d, ingress: [explosive] } : d));
    const report = await new Reconciler(tc, reader, ZONE).reconcile(p);
    expect(report.failed).to.deep.equal(['rep2']);
    const err = report.outcomes.find((o) => o.device === 'rep2')!.error!;
    expect(err).to.match(/^device rep2: cannot read its filters \(tc -s -j filter show dev rep2\)/);
    expect(tc.written.get('rep1')).to.be.greaterThan(0);
  });

  for (const fault of ['write-fails', 'write-times-out'] as const) {
    it(`a batch that ${fault === 'write-fails' ? 'fails' : 'times out'} fails that device only`, async () => {
      const { report, tc } = await run({ rep1: fault });
      expect(report.failed).to.deep.equal(['rep1']);
      const err = report.outcomes.find((o) => o.device === 'rep1')!.error!;
      expect(err).to.match(/^device rep1: tc batch/);
      if (fault === 'write-times-out') expect(err).to.contain('timed out');
      expect(tc.written.get('rep2')).to.be.greaterThan(0);
    });
  }

  it('a device that failed its discovery read is read again at the next reconcile', async () => {
    const p = pipeline();
    const devices = p.devices.map((d) => d.device).sort();
    const faults = new Map<string, DeviceFault>([['rep1', 'garbage']]);
    const tc = new FakeTc(devices, faults);
    const rec = new Reconciler(tc, kernelReader(tc), ZONE);
    const first = await rec.reconcile(p);
    expect(first.failed).to.deep.equal(['rep1']);
    faults.delete('rep1');
    const second = await rec.reconcile(p);
    expect(second.failed).to.deep.equal([]);
    expect(tc.written.get('rep1')).to.be.greaterThan(0);
  });

  it('a timeout of the whole read fails every device at once, without a read per device', async () => {
    const p = pipeline();
    const devices = p.devices.map((d) => d.device).sort();
    const tc = new FakeTc(devices, new Map());
    let reads = 0;
    tc.readBatch = async () => {
      reads++;
      throw new ExternalCallError('timeout', 'tc -s -j -batch: timed out after 50 ms');
    };
    const report = await new Reconciler(tc, kernelReader(tc), ZONE).reconcile(p);
    expect(report.failed).to.have.members(devices);
    expect(report.outcomes.every((o) => /timed out/.test(o.error ?? ''))).to.equal(true);
    expect(reads).to.equal(2); // discovery and the reconcile's read, no per-device retries
    expect(tc.writes).to.equal(0);
  });
});
