// Per-device isolation of the apply layer: a device that vanishes between the link listing and the
// filter dump, a device whose dump is garbage JSON, a device whose batch fails or times out, each
// fail only that device; the others get their rules. Errors name the command and the device.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { kernelReader, Reconciler } from '../../../../src/tc/apply/reconcile.js';
import { ExternalCallError } from '../../../../src/tc/apply/tc-runner.js';
import { compileNode } from '../../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../../src/tc/compile/options.js';
import type { NodePipeline } from '../../../../src/tc/ir.js';
import { clusterObjects, load, policy } from '../fixtures.js';
import { FakeTc, type DeviceFault } from './fake-tc.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

/** Node w1 with a deny-all policy: rep1 and rep2 (network accel) carry filters. */
function pipeline(): NodePipeline {
  const deny = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const { snapshot, model } = load(clusterObjects([deny]));
  return compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
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

  it('a device whose lines fail in the shared batch fails alone; the others are written', async () => {
    const { report, tc } = await run({ rep1: 'write-fails' });
    expect(report.failed).to.deep.equal(['rep1']);
    const err = report.outcomes.find((o) => o.device === 'rep1')!.error!;
    expect(err).to.match(/^device rep1: tc batch line 1 failed: Error: Operation not permitted/);
    expect(tc.written.get('rep2')).to.be.greaterThan(0);
  });

  it('a batch that times out fails every device in it: nothing is known about how far it got', async () => {
    const { report, tc, devices } = await run({ rep1: 'write-times-out' });
    const written = devices.filter((d) => tc.batchCalls[0]!.some((l) => FakeTc.deviceOf(l) === d));
    expect(written).to.include.members(['rep1', 'rep2']);
    expect(report.failed).to.deep.equal(written);
    for (const d of written) {
      const err = report.outcomes.find((o) => o.device === d)!.error!;
      expect(err).to.match(new RegExp(`^device ${d}: tc batch failed: .*timed out`));
    }
  });

  it('a device that failed its discovery read is read again at the next reconcile', async () => {
    const p = pipeline();
    const devices = p.devices.map((d) => d.device).sort();
    const faults = new Map<string, DeviceFault>([['rep1', 'garbage']]);
    const tc = new FakeTc(devices, faults);
    const rec = new Reconciler(tc, kernelReader(tc), ZONE);
    const first = await rec.reconcile(p);
    expect(first.failed).to.deep.equal(['rep1']);
    faults.delete('rep1');
    const second = await rec.reconcile(p, { full: false });
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
    expect(reads).to.equal(1); // discovery, whose result the reconcile uses; no per-device retries
    expect(tc.writes).to.equal(0);
  });
});
