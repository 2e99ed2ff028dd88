// What a reconcile reads and how many processes it writes with: only devices that may differ are
// read (desired pipeline changed, last attempt failed, netdev recreated, never read), a full
// reconcile reads them all; every device's lines go into one `tc -batch`, and a failing device
// costs one more batch for the devices after it.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { kernelReader, Reconciler } from '../../../../src/tc/apply/reconcile.js';
import { samePipeline } from '../../../../src/tc/apply/same-pipeline.js';
import { ExternalCallError } from '../../../../src/tc/apply/tc-runner.js';
import { compileNode } from '../../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../../src/tc/compile/options.js';
import type { DevicePipeline, NodePipeline } from '../../../../src/tc/ir.js';
import { clusterObjects, load, policy } from '../fixtures.js';

/** A copy of a compiled value that a test may edit (the IR is readonly by type). */
type Editable<T> = T extends object ? { -readonly [K in keyof T]: Editable<T[K]> } : T;
const editableCopy = <T>(x: T): Editable<T> => structuredClone(x) as Editable<T>;
import { FakeTc, type DeviceFault } from './fake-tc.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

/** Node w1 with a deny-all policy: several devices carry filters. */
function pipeline(): NodePipeline {
  const deny = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const { snapshot, model } = load(clusterObjects([deny]));
  return compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
}

/** `p` with one device's first chain short of its last filter (a change of that device only). */
function changedDevice(p: NodePipeline, device: string): NodePipeline {
  return {
    ...p,
    devices: p.devices.map((d) =>
      d.device !== device
        ? d
        : {
            ...d,
            chains: [{ ...d.chains[0]!, filters: d.chains[0]!.filters.slice(0, -1) }, ...d.chains.slice(1)],
          },
    ),
  };
}

function withFilters(p: NodePipeline): string[] {
  return p.devices
    .filter((d) => d.chains.length > 0)
    .map((d) => d.device)
    .sort();
}

function setup(faults: Record<string, DeviceFault> = {}) {
  const p = pipeline();
  const tc = new FakeTc(p.devices.map((d) => d.device).sort(), new Map(Object.entries(faults)));
  const rec = new Reconciler(tc, kernelReader(tc), ZONE);
  return { p, tc, rec };
}

/** The devices whose lines are in a batch, in order. */
function devicesOf(lines: string[]): string[] {
  return [...new Set(lines.map(FakeTc.deviceOf))];
}

describe('reconcile: read only what may differ', () => {
  it('the pipeline under test has at least three devices with filters', () => {
    expect(withFilters(pipeline()).length).to.be.at.least(3);
  });

  it('the first reconcile reads every device, even when not full', async () => {
    const { p, tc, rec } = setup();
    const report = await rec.reconcile(p, { full: false });
    expect(report.read).to.equal(tc.devices.length);
    expect(tc.devicesRead().sort()).to.deep.equal(tc.devices);
    expect(tc.qdiscReads, 'discovery and the reads share one qdisc list').to.equal(1);
    await rec.reconcile(p, { full: true });
    expect(tc.qdiscReads, 'a later full reconcile lists them again').to.equal(2);
  });

  it('a reconcile with nothing changed reads no device, and still lists the links', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const reads = tc.readCalls.length;
    let links = 0;
    const ipJson = tc.ipJson.bind(tc);
    tc.ipJson = (args) => {
      links++;
      return ipJson(args);
    };
    const report = await rec.reconcile(p, { full: false });
    expect(report.read).to.equal(0);
    expect(report.writes).to.equal(0);
    expect(report.outcomes).to.deep.equal([]);
    expect(tc.readCalls.length).to.equal(reads);
    expect(links).to.equal(1);
  });

  it('after a change of one device only that device is read and written', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const target = withFilters(p)[0]!;
    const reads = tc.readCalls.length;
    const batches = tc.batchCalls.length;
    const report = await rec.reconcile(changedDevice(p, target), { full: false });
    expect(report.read).to.equal(1);
    expect(tc.readCalls.slice(reads).flat().map(FakeTc.deviceOf)).to.deep.equal([target, target]);
    expect(tc.batchCalls.slice(batches).map(devicesOf)).to.deep.equal([[target]]);
    expect(report.outcomes.map((o) => o.device)).to.deep.equal([target]);
  });

  it('a pipeline rebuilt as new objects with the same content is not read again', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const reads = tc.readCalls.length;
    const report = await rec.reconcile(structuredClone(p), { full: false });
    expect(report.read).to.equal(0);
    expect(tc.readCalls.length).to.equal(reads);
  });

  it('a full reconcile reads every device', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const reads = tc.readCalls.length;
    const report = await rec.reconcile(p, { full: true });
    expect(report.read).to.equal(tc.devices.length);
    expect(devicesOf(tc.readCalls.slice(reads).flat()).sort()).to.deep.equal(tc.devices);
    // The default is full: callers that do not say get the old behaviour.
    expect((await rec.reconcile(p)).read).to.equal(tc.devices.length);
  });

  it('a device whose write failed is read again at the next reconcile; the others are not', async () => {
    const { p, tc, rec } = setup();
    const target = withFilters(p)[1]!;
    tc.faults.set(target, 'write-fails');
    expect((await rec.reconcile(p)).failed).to.deep.equal([target]);
    tc.faults.delete(target);
    const reads = tc.readCalls.length;
    const report = await rec.reconcile(p, { full: false });
    expect(report.failed).to.deep.equal([]);
    expect(report.read).to.equal(1);
    expect(devicesOf(tc.readCalls.slice(reads).flat())).to.deep.equal([target]);
  });

  it('a device whose read failed is read again at the next reconcile', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const target = withFilters(p)[0]!;
    tc.faults.set(target, 'garbage');
    expect((await rec.reconcile(changedDevice(p, target), { full: false })).failed).to.deep.equal([target]);
    tc.faults.delete(target);
    const reads = tc.readCalls.length;
    const report = await rec.reconcile(changedDevice(p, target), { full: false });
    expect(report.failed).to.deep.equal([]);
    expect(devicesOf(tc.readCalls.slice(reads).flat())).to.deep.equal([target]);
  });

  it('a recreated netdev (a new ifindex under the same name) is read again', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const target = withFilters(p)[0]!;
    tc.ifindex.set(target, 999);
    const reads = tc.readCalls.length;
    const report = await rec.reconcile(p, { full: false });
    expect(report.read).to.equal(1);
    expect(devicesOf(tc.readCalls.slice(reads).flat())).to.deep.equal([target]);
  });

  it('a batch that timed out marks all its devices for a read at the next reconcile', async () => {
    const { p, tc, rec } = setup();
    const target = withFilters(p)[0]!;
    tc.faults.set(target, 'write-times-out');
    const first = await rec.reconcile(p);
    const inBatch = devicesOf(tc.batchCalls[0]!);
    expect(first.failed).to.deep.equal(inBatch);
    tc.faults.delete(target);
    const reads = tc.readCalls.length;
    const again = await rec.reconcile(p, { full: false });
    expect(again.failed).to.deep.equal([]);
    expect(devicesOf(tc.readCalls.slice(reads).flat()).sort()).to.deep.equal(inBatch);
  });
  it('a device whose batch was abandoned (the agent stopping) is read again, even back on its old pipeline', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const target = withFilters(p)[0]!;
    const batch = tc.batch.bind(tc);
    tc.batch = () =>
      Promise.reject(new ExternalCallError('aborted', 'tc -batch: abandoned (the agent is stopping)'));
    let thrown: unknown;
    await rec.reconcile(changedDevice(p, target), { full: false }).catch((e: unknown) => (thrown = e));
    expect(thrown).to.be.instanceOf(ExternalCallError);
    tc.batch = batch;
    // The batch may have switched the device to the changed pipeline: it cannot be trusted to hold p.
    const reads = tc.readCalls.length;
    const report = await rec.reconcile(p, { full: false });
    expect(devicesOf(tc.readCalls.slice(reads).flat())).to.deep.equal([target]);
    expect(report.read).to.equal(1);
  });
});

describe('reconcile: one tc -batch for many devices', () => {
  it('writes every changed device in one process', async () => {
    const { p, tc, rec } = setup();
    const report = await rec.reconcile(p);
    expect(report.batches).to.equal(1);
    expect(tc.batchCalls).to.have.length(1);
    expect(devicesOf(tc.batchCalls[0]!)).to.deep.equal(withFilters(p));
    for (const o of report.outcomes.filter((x) => x.writes > 0))
      expect(tc.written.get(o.device)).to.equal(o.writes);
  });

  it('a failure in device k: devices before k written, k failed, devices after k in a second batch', async () => {
    const { p, tc, rec } = setup();
    const devices = withFilters(p);
    const k = 1;
    tc.faults.set(devices[k]!, 'write-fails');
    const report = await rec.reconcile(p);
    expect(report.batches).to.equal(2);
    expect(tc.batchCalls.map(devicesOf)).to.deep.equal([devices, devices.slice(k + 1)]);
    expect(report.failed).to.deep.equal([devices[k]]);
    const failed = report.outcomes.find((o) => o.device === devices[k])!;
    // The line number is the device's own (its first line failed), with the text of the line.
    const firstLine = tc.batchCalls[0]!.find((l) => FakeTc.deviceOf(l) === devices[k])!;
    expect(failed.error).to.equal(
      `device ${devices[k]}: tc batch line 1 failed: Error: Operation not permitted (line: ${firstLine})`,
    );
    expect(failed.writes).to.equal(1);
    for (const d of [...devices.slice(0, k), ...devices.slice(k + 1)]) {
      const o = report.outcomes.find((x) => x.device === d)!;
      expect(o.error).to.equal(undefined);
      expect(o.writes).to.be.greaterThan(0);
      expect(tc.written.get(d)).to.equal(o.writes);
    }
  });

  it('k failing devices cost k + 1 processes', async () => {
    const { p, tc, rec } = setup();
    const devices = withFilters(p);
    tc.faults.set(devices[0]!, 'write-fails');
    tc.faults.set(devices[1]!, 'write-fails');
    const report = await rec.reconcile(p);
    expect(report.batches).to.equal(3);
    expect(report.failed).to.deep.equal([devices[0], devices[1]]);
    expect(tc.batchCalls.map(devicesOf)).to.deep.equal([devices, devices.slice(1), devices.slice(2)]);
    for (const d of devices.slice(2)) expect(tc.written.get(d)).to.be.greaterThan(0);
  });

  it('an install starts its tc process before planning; the retry after a failure is a plain batch', async () => {
    const { p, tc, rec } = setup();
    const devices = withFilters(p);
    tc.faults.set(devices[0]!, 'write-fails');
    const report = await rec.reconcile(p);
    // The fake's devices hold no entry filter: every device with rules is an install.
    expect(tc.opened).to.equal(1);
    expect(report.batches).to.equal(2);
    expect(tc.batchCalls.map(devicesOf)).to.deep.equal([devices, devices.slice(1)]);
  });

  it('a reconcile with nothing to install starts no process early', async () => {
    const { p, tc, rec } = setup();
    await rec.reconcile(p);
    const opened = tc.opened;
    const empty: NodePipeline = { ...p, devices: p.devices.map((d) => ({ ...d, chains: [] })) };
    await rec.reconcile(empty);
    expect(tc.opened).to.equal(opened);
  });

  it('the last device failing costs no second process', async () => {
    const { p, tc, rec } = setup();
    const devices = withFilters(p);
    tc.faults.set(devices[devices.length - 1]!, 'write-fails');
    const report = await rec.reconcile(p);
    expect(report.batches).to.equal(1);
    expect(report.failed).to.deep.equal([devices[devices.length - 1]]);
  });
});

describe('samePipeline', () => {
  const device = (): DevicePipeline => pipeline().devices.find((d) => d.chains.length > 0)!;

  it('is true for the same object and for a copy', () => {
    const d = device();
    expect(samePipeline(d, d)).to.equal(true);
    expect(samePipeline(d, structuredClone(d))).to.equal(true);
  });

  it('ignores what never reaches the kernel (notes, purposes, networks)', () => {
    const d = device();
    const c = editableCopy(d);
    c.chains[0]!.purpose = 'something else';
    c.chains[0]!.filters[0]!.note = 'another note';
    c.networks = [];
    expect(samePipeline(d, c)).to.equal(true);
  });

  it('sees a changed match, action, prio, chain index, filter count or skip_sw', () => {
    const d = device();
    const edits: ((c: Editable<DevicePipeline>) => void)[] = [
      (c) => (c.chains[0]!.filters[0]!.match = { ...c.chains[0]!.filters[0]!.match, dstPort: [1, 2] }),
      (c) => (c.chains[0]!.filters[0]!.actions = [{ kind: 'goto', chain: 77 }]),
      (c) => (c.chains[0]!.filters[0]!.prio += 1),
      (c) => (c.chains[0]!.index += 100),
      (c) => c.chains[0]!.filters.pop(),
      (c) => (c.skipSw = true),
    ];
    for (const edit of edits) {
      const c = editableCopy(d);
      edit(c);
      expect(samePipeline(d, c)).to.equal(false);
    }
  });
});
