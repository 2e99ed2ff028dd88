// Deletions seen by `tc monitor`: which lines are deletions of rules the agent may own, and which
// of those the reconciler treats as someone else removing a device's live rules (read the device
// again at the next reconcile) rather than its own replaced chains or a cleanup.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { kernelReader, Reconciler } from '../../../../src/tc/apply/reconcile.js';
import { parseRuleDeletion } from '../../../../src/tc/apply/rule-deletions.js';
import type { BatchFailure } from '../../../../src/tc/apply/tc-runner.js';
import { compileNode } from '../../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../../src/tc/compile/options.js';
import type { NodePipeline } from '../../../../src/tc/ir.js';
import { clusterObjects, load, policy } from '../fixtures.js';
import { FakeTc } from './fake-tc.js';
import { deviceDump } from '../tc-json.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

describe('tc monitor lines: deletions', () => {
  it('reads qdisc, filter and chain deletions, and nothing else', () => {
    const cases: [string, unknown][] = [
      ['deleted qdisc clsact ffff: dev eth1 parent ffff:fff1 refcnt 0', { what: 'qdisc', device: 'eth1' }],
      ['deleted qdisc ingress ffff: dev eth1 parent ffff:fff1', { what: 'qdisc', device: 'eth1' }],
      ['deleted qdisc mq 0: dev eth1 root', undefined],
      [
        'deleted filter dev eth1 ingress protocol all pref 1 flower chain 0 handle 0x1 ',
        { what: 'filter', device: 'eth1', chain: 0, pref: 1 },
      ],
      [
        'deleted filter dev eth2 ingress protocol ip pref 20 flower chain 10002 handle 0x3 ',
        { what: 'filter', device: 'eth2', chain: 10002, pref: 20 },
      ],
      [
        'deleted filter dev eth2 ingress protocol ip pref 20 flower handle 0x3',
        { what: 'filter', device: 'eth2', chain: 0, pref: 20 },
      ],
      ['deleted filter dev eth2 egress protocol ip pref 20 flower chain 10002', undefined],
      ['deleted chain dev eth1 parent ffff: chain 10002 ', { what: 'chain', device: 'eth1', chain: 10002 }],
      ['filter dev eth1 ingress protocol all pref 1 flower chain 0 handle 0x1', undefined],
      ['added chain dev eth1 parent ffff: chain 10002', undefined],
      ['qdisc clsact ffff: dev eth1 parent ffff:fff1', undefined],
      ['deleted filter ingress protocol all pref 1', undefined],
    ];
    for (const [line, want] of cases) expect(parseRuleDeletion(line), line).to.deep.equal(want);
  });
});

/** Node w1 with a deny-all policy: several devices carry filters. */
function pipeline(): NodePipeline {
  const deny = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const { snapshot, model } = load(clusterObjects([deny]));
  return compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
}

/**
 * FakeTc that runs `during` while a write batch is in flight (as a monitor event would arrive),
 * and whose reads give back what `remember` recorded (the kernel after the last reconcile).
 */
class KernelTc extends FakeTc {
  during: ((lines: string[]) => void) | undefined;
  readonly dumps = new Map<string, unknown[]>();
  override async batch(lines: string[]): Promise<BatchFailure | undefined> {
    this.during?.(lines);
    return super.batch(lines);
  }
  override async readBatch(lines: string[]): Promise<string> {
    this.readCalls.push(lines);
    return lines
      .map((l) => JSON.stringify(l.includes(' ingress') ? (this.dumps.get(FakeTc.deviceOf(l)) ?? []) : []))
      .join('\n');
  }
  remember(rec: Reconciler, p: NodePipeline): void {
    this.dumps.clear();
    for (const d of p.devices) {
      const numbering = rec.numberingOf(d.device);
      if (d.chains.length > 0 && numbering)
        this.dumps.set(d.device, deviceDump(d, { numbering: (rel) => numbering[rel]!, ctZone: ZONE }));
    }
  }
}

describe('reconciler: rules deleted by someone else', () => {
  function setup() {
    const p = pipeline();
    const tc = new KernelTc(p.devices.map((d) => d.device).sort(), new Map());
    const rec = new Reconciler(tc, kernelReader(tc), ZONE);
    const device = p.devices.find((d) => d.chains.length > 2)!.device;
    return { p, tc, rec, device };
  }

  /** Devices the next non-full reconcile reads. */
  async function readNext(rec: Reconciler, tc: KernelTc, p: NodePipeline): Promise<string[]> {
    const before = tc.readCalls.length;
    await rec.reconcile(p, { full: false });
    tc.remember(rec, p);
    return [...new Set(tc.readCalls.slice(before).flat().map(FakeTc.deviceOf))];
  }

  it('the qdisc, the entry or a live chain: the device is read at the next reconcile; other chains and devices are not', async () => {
    const { p, tc, rec, device } = setup();
    await rec.reconcile(p);
    tc.remember(rec, p);
    expect(await readNext(rec, tc, p)).to.deep.equal([]);
    const live = rec.numberingOf(device)!;
    const deletions = [
      { what: 'qdisc' as const, device },
      { what: 'filter' as const, device, chain: 0, pref: 1 },
      { what: 'chain' as const, device, chain: live[2]! },
      { what: 'filter' as const, device, chain: live[1]!, pref: 14 },
    ];
    for (const e of deletions) {
      expect(rec.noticeDeletion(e), JSON.stringify(e)).to.equal(true);
      expect(await readNext(rec, tc, p), JSON.stringify(e)).to.deep.equal([device]);
    }
    const ignored = [
      { what: 'chain' as const, device, chain: 29999 },
      { what: 'filter' as const, device, chain: 0, pref: 7 },
      { what: 'qdisc' as const, device: 'not-managed' },
    ];
    for (const e of ignored) expect(rec.noticeDeletion(e), JSON.stringify(e)).to.equal(false);
    expect(await readNext(rec, tc, p)).to.deep.equal([]);
  });

  it("during the device's own write: its replaced chains are not live; a deletion of a new or kept chain is", async () => {
    const { p, tc, rec, device } = setup();
    await rec.reconcile(p);
    tc.remember(rec, p);
    const old = rec.numberingOf(device)!;
    // The device's chain 2 changes: 2, 1 and 0 get new numbers, the chains below keep theirs.
    const changed: NodePipeline = {
      ...p,
      devices: p.devices.map((d) =>
        d.device !== device
          ? d
          : {
              ...d,
              chains: d.chains.map((c) => (c.index === 2 ? { ...c, filters: c.filters.slice(1) } : c)),
            },
      ),
    };
    const seen: boolean[] = [];
    tc.during = () => seen.push(rec.noticeDeletion({ what: 'chain', device, chain: old[2]! }));
    await rec.reconcile(changed, { full: false });
    tc.remember(rec, changed);
    expect(seen, 'the replaced chain').to.deep.equal([false]);
    expect(rec.numberingOf(device)![2]).to.not.equal(old[2]);
    expect(await readNext(rec, tc, changed)).to.deep.equal([]);

    // A chain this write installs (the first filter it adds), deleted while the batch runs.
    tc.during = (lines) => {
      const chain = Number(/ chain (\d+)/.exec(lines.find((l) => l.startsWith('filter add'))!)![1]);
      seen.push(rec.noticeDeletion({ what: 'filter', device, chain, pref: 10 }));
    };
    await rec.reconcile(p, { full: false });
    tc.remember(rec, p);
    expect(seen[1], 'a chain the write keeps or installs').to.equal(true);
    tc.during = undefined;
    expect(await readNext(rec, tc, p), 'read again after its write').to.deep.equal([device]);
  });

  it('a cleanup in flight deletes its own qdisc', async () => {
    const { p, tc, rec, device } = setup();
    await rec.reconcile(p);
    tc.remember(rec, p);
    const seen: boolean[] = [];
    tc.during = () => seen.push(rec.noticeDeletion({ what: 'qdisc', device }));
    await rec.reconcile({ ...p, devices: p.devices.filter((d) => d.device !== device) }, { full: false });
    expect(seen).to.deep.equal([false]);
  });
});
