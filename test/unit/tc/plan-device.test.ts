// planDevice: the writes that move one representor from its kernel state (read back through
// parseFilterDump from what tc prints) to the desired pipeline. Per-chain make-before-break:
// unchanged chains keep their numbers, changed chains and their ancestors are written under fresh
// numbers, the entry is switched with one replace, unused chains are deleted last; filters of
// other software are never touched.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { deviceStateOf, type DeviceState } from '../../../src/tc/apply/device-state.js';
import { parseFilterDump } from '../../../src/tc/apply/parse-filters.js';
import { planDevice, type DevicePlan } from '../../../src/tc/apply/plan-device.js';
import type { KernelFilter } from '../../../src/tc/apply/device-state.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import type { DevicePipeline, Filter } from '../../../src/tc/ir.js';
import { absoluteChain, isOwnedChain, numberingFrom, type FreshChoice } from '../../../src/tc/layout.js';
import { renderChainLines, renderEntryLine } from '../../../src/tc/render/render-tc.js';
import { clusterObjects, load, policy } from './fixtures.js';
import { deviceDump, entryJson, generationDump, type Json } from './tc-json.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;
const DEV = 'rep1';

function rep1(policies: Record<string, unknown>[]): DevicePipeline {
  const { snapshot, model } = load(clusterObjects(policies));
  const p = compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
  return p.devices.find((d) => d.device === DEV)!;
}

const DENY_ALL = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const A_EGRESS = policy('x', 'a-egress', {
  podSelector: { matchLabels: { pod: 'a' } },
  policyTypes: ['Egress'],
  egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.2/32'] } }], ports: [{ port: 443 }] }],
});

/** Two different pipelines for rep1 (pod x/a), and the empty one. */
const OLD = rep1([DENY_ALL]);
const NEW = rep1([DENY_ALL, A_EGRESS]);
const NONE: DevicePipeline = { ...OLD, chains: [] };

/** Filters of other software: chain 0 below and above the entry, chains outside the owned range. */
const FOREIGN: Json[] = [
  { protocol: 'all', pref: 49152, kind: 'matchall', chain: 0 },
  {
    protocol: 'all',
    pref: 49152,
    kind: 'matchall',
    chain: 0,
    options: {
      handle: 1,
      not_in_hw: true,
      actions: [{ order: 1, kind: 'gact', control_action: { type: 'pass' } }],
    },
  },
  { protocol: 'ip', pref: 2, kind: 'flower', chain: 0 },
  {
    protocol: 'ip',
    pref: 2,
    kind: 'flower',
    chain: 0,
    options: {
      handle: 1,
      keys: { eth_type: 'ipv4', ip_proto: 'udp', dst_port: 4789 },
      not_in_hw: true,
      actions: [{ order: 1, kind: 'gact', control_action: { type: 'goto', chain: 7 } }],
    },
  },
  ...[7, 9999, 30000, 65000].flatMap((chain) => [
    { protocol: 'all', pref: 5, kind: 'flower', chain },
    {
      protocol: 'all',
      pref: 5,
      kind: 'flower',
      chain,
      options: {
        handle: 1,
        keys: {},
        not_in_hw: true,
        actions: [{ order: 1, kind: 'gact', control_action: { type: 'drop' } }],
      },
    },
  ]),
];
const FOREIGN_CHAINS = [0, 7, 9999, 30000, 65000];

type Qdisc = 'clsact' | 'ingress' | 'none';

function state(dump: Json[], qdisc: Qdisc = 'clsact'): DeviceState {
  const q = qdisc === 'none' ? undefined : qdisc;
  return deviceStateOf(DEV, q, parseFilterDump(JSON.parse(JSON.stringify(dump)) as unknown[], ZONE));
}

/** The device with `d` live, every chain at fresh base `gen` (entry included). */
const live = (d: DevicePipeline, gen: FreshChoice): Json[] => deviceDump(d, { gen, ctZone: ZONE });
/** The device with `d` live under a planned numbering (entry included). */
const liveAs = (d: DevicePipeline, chains: readonly number[]): Json[] =>
  deviceDump(d, { numbering: numberingFrom(chains), ctZone: ZONE });
/** Only the chains of `d` at base `gen`, no entry (leftovers). */
const leftovers = (d: DevicePipeline, gen: FreshChoice): Json[] => generationDump(d, { gen, ctZone: ZONE });

const chainDel = (chain: number) => `chain del dev ${DEV} ingress chain ${chain}`;
const chainsOf = (d: DevicePipeline, gen: FreshChoice) => d.chains.map((c) => absoluteChain(gen, c.index));
const ENTRY_DEL = `filter del dev ${DEV} ingress protocol all pref 1 handle 1 chain 0 flower`;

function chainOfLine(line: string): number | undefined {
  const m = / chain (\d+)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** Chains the kernel model holds filters in (from a dump). */
function chainsIn(dump: Json[]): Set<number> {
  return new Set(parseFilterDump(JSON.parse(JSON.stringify(dump)) as unknown[]).map((k) => k.chain));
}

/** The relative chains of `d` in the order their first line appears in `lines`. */
function writtenChains(lines: string[]): number[] {
  const out: number[] = [];
  for (const l of lines) {
    const c = chainOfLine(l)!;
    if (l.startsWith('filter add') && c !== 0 && !out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * The shape every update must have: filter adds into chains the kernel does not use, at most one
 * entry switch to the new root, then chain dels of the kernel's chains the new numbering does not
 * use; and the device read back afterwards plans nothing.
 */
function checkUpdate(d: DevicePipeline, before: Json[], plan: DevicePlan): void {
  const chains = plan.chains!;
  const kernel = chainsIn(before);
  const switchAt = plan.lines.findIndex((l) => / chain 0 flower /.test(l));
  const beforeSwitch = switchAt < 0 ? plan.lines : plan.lines.slice(0, switchAt);
  const afterSwitch = switchAt < 0 ? [] : plan.lines.slice(switchAt + 1);
  for (const l of beforeSwitch) {
    if (l.startsWith('qdisc add')) continue;
    expect(l, 'before the switch: only new filters').to.match(/^filter add /);
    expect(kernel.has(chainOfLine(l)!), `${l}: a chain the kernel does not hold`).to.equal(false);
  }
  if (switchAt >= 0) expect(plan.lines[switchAt]).to.match(new RegExp(`goto chain ${chains[0]} cookie `));
  for (const l of afterSwitch) expect(l, 'after the switch: only deletes').to.match(/^chain del /);
  const dels = (switchAt < 0 ? plan.lines : afterSwitch).filter((l) => l.startsWith('chain del'));
  expect(dels.map((l) => chainOfLine(l))).to.deep.equal(
    [...kernel]
      .filter((c) => c !== 0 && !chains.includes(c))
      .filter(isOwnedChain)
      .sort((a, b) => a - b),
  );
  // Written chains: children before parents (a goto's target is complete when the goto appears).
  const written = writtenChains(plan.lines);
  for (const l of plan.lines.filter((x) => x.startsWith('filter add') && chainOfLine(x) !== 0)) {
    for (const m of l.matchAll(/goto chain (\d+)/g)) {
      const target = Number(m[1]);
      if (written.includes(target))
        expect(written.indexOf(target), `${l}: target written first`).to.be.lessThan(
          written.indexOf(chainOfLine(l)!),
        );
      else expect(kernel.has(target) || chains.includes(target), `${l}: target exists`).to.equal(true);
    }
  }
  // A restart over the result writes nothing and finds the same numbers.
  const again = planDevice(d, state(liveAs(d, chains)), ZONE);
  expect(again.lines, 'replanned after the update').to.deep.equal([]);
  expect(again.chains).to.deep.equal(chains);
}

describe('planDevice', () => {
  it('the two fixture pipelines differ (so updates below are real updates)', () => {
    expect(OLD.chains.length).to.be.greaterThan(2);
    expect(renderChainLines(NEW, 0, ZONE)).to.not.deep.equal(renderChainLines(OLD, 0, ZONE));
  });

  describe('fresh install', () => {
    it('adds the qdisc, writes every chain at 10000 + relative (children first), and adds the entry last', () => {
      const plan = planDevice(NEW, state([], 'none'), ZONE);
      expect(plan.kind).to.equal('install');
      expect(plan.chains).to.deep.equal(chainsOf(NEW, 0));
      expect(plan.lines[0]).to.equal(`qdisc add dev ${DEV} clsact`);
      expect(plan.lines.slice(1, -1).sort()).to.deep.equal(renderChainLines(NEW, 0, ZONE).sort());
      expect(plan.lines[plan.lines.length - 1]).to.equal(
        `filter add dev ${DEV} ingress protocol all pref 1 handle 1 chain 0 flower action gact goto chain 10000 cookie 6d6e702d7463`,
      );
      // The root is written last of the chains: everything it jumps to exists by then.
      expect(writtenChains(plan.lines).at(-1)).to.equal(10000);
      checkUpdate(NEW, [], plan);
    });

    it('keeps an existing clsact or ingress qdisc', () => {
      for (const q of ['clsact', 'ingress'] as const) {
        const plan = planDevice(NEW, state([], q), ZONE);
        expect(plan.lines.slice(0, -1).sort()).to.deep.equal(renderChainLines(NEW, 0, ZONE).sort());
        expect(plan.lines.at(-1)).to.equal(renderEntryLine(DEV, 10000, 'add'));
      }
    });

    it('after an interrupted install (no entry): writes around the leftovers, deletes them after the entry', () => {
      const partial = leftovers(OLD, 0).slice(0, 12);
      const before = [...partial, ...leftovers(OLD, 1)];
      const plan = planDevice(NEW, state(before), ZONE);
      expect(plan.kind).to.equal('install');
      // No entry: nothing was live, yet the leftovers go only after the entry is added.
      expect(plan.lines.filter((l) => / chain 0 flower /.test(l))).to.deep.equal([
        renderEntryLine(DEV, plan.chains![0]!, 'add'),
      ]);
      checkUpdate(NEW, before, plan);
    });
  });

  describe('update', () => {
    for (const from of [0, 1] as const) {
      it(`from chains at base ${from}: new chains beside the live ones, one replace, then the old ones go`, () => {
        const before = live(OLD, from);
        const plan = planDevice(NEW, state(before), ZONE);
        expect(plan.kind).to.equal('update');
        expect(plan.lines.filter((l) => l.startsWith('filter replace'))).to.deep.equal([
          renderEntryLine(DEV, plan.chains![0]!, 'replace'),
        ]);
        // The root changed, so it moved to the other base.
        expect(plan.chains![0]).to.equal(absoluteChain((1 - from) as FreshChoice, 0));
        checkUpdate(NEW, before, plan);
      });
    }

    it('a change in one port chain rewrites that chain and its ancestors only; the others keep their numbers', () => {
      const two = (port: number) =>
        rep1([
          DENY_ALL,
          policy('x', 'a-two', {
            podSelector: { matchLabels: { pod: 'a' } },
            policyTypes: ['Egress'],
            egress: [
              { to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 443 }] },
              { to: [{ ipBlock: { cidr: '10.9.0.0/24' } }], ports: [{ port }] },
            ],
          }),
        ]);
      const [a, b] = [two(8080), two(8081)];
      const portChains = (d: DevicePipeline) => d.chains.filter((c) => c.purpose.includes('ports'));
      expect(portChains(a)).to.have.length(2);
      const before = live(a, 0);
      const plan = planDevice(b, state(before), ZONE);
      checkUpdate(b, before, plan);
      const kept = b.chains
        .filter((c) => plan.chains![c.index] === absoluteChain(0, c.index))
        .map((c) => c.purpose);
      const moved = b.chains
        .filter((c) => plan.chains![c.index] === absoluteChain(1, c.index))
        .map((c) => c.purpose);
      expect(kept.length + moved.length).to.equal(b.chains.length);
      // The 443 chain is kept; the 8081 chain and the path to it (root, state, new) are new.
      expect(kept.some((p) => p.includes('443'))).to.equal(true);
      expect(moved.some((p) => p.includes('8081'))).to.equal(true);
      expect(moved).to.have.length(4);
      const filtersOf = (purposes: string[]) =>
        b.chains.filter((c) => purposes.includes(c.purpose)).reduce((n, c) => n + c.filters.length, 0);
      expect(plan.lines.filter((l) => l.startsWith('filter add'))).to.have.length(filtersOf(moved));
    });

    it('rewrites a chain it cannot read, or that differs in ct zone, or whose filters are gone, with its ancestors', () => {
      // An unreadable filter inside chain +1 (state): +1 and the root are rewritten, +2 and +3 kept.
      const odd = [
        { protocol: 'ip', pref: 90, kind: 'flower', chain: 10001 },
        {
          protocol: 'ip',
          pref: 90,
          kind: 'flower',
          chain: 10001,
          options: {
            handle: 1,
            keys: { src_mac: '02:00:00:00:00:01' },
            actions: [{ order: 1, kind: 'gact', control_action: { type: 'pass' } }],
          },
        },
      ];
      const withOdd = [...live(NEW, 0), ...odd];
      const p1 = planDevice(NEW, state(withOdd), ZONE);
      expect(p1.kind).to.equal('update');
      expect(p1.chains).to.deep.equal([20000, 20001, 10002, 10003]);
      checkUpdate(NEW, withOdd, p1);
      // The same pipeline in another conntrack zone: every chain with a ct action, and their ancestors.
      const otherZone = deviceDump(NEW, { gen: 0, ctZone: ZONE + 1 });
      const p2 = planDevice(NEW, state(otherZone), ZONE);
      expect(p2.kind).to.equal('update');
      expect(p2.lines.join('\n')).to.include(`zone ${ZONE} pipe`);
      checkUpdate(NEW, otherZone, p2);
      // The entry survived but someone flushed the chains.
      const flushed = entryJson(10000);
      const p3 = planDevice(NEW, state(flushed), ZONE);
      expect(p3.kind).to.equal('update');
      // 10000 is the target of the entry (an empty chain, live): never a fresh number.
      expect(p3.chains![0]).to.equal(20000);
      checkUpdate(NEW, flushed, p3);
      // One filter missing.
      const missing = live(NEW, 0).filter((_, i) => i !== 7 && i !== 6);
      const p4 = planDevice(NEW, state(missing), ZONE);
      expect(p4.kind).to.equal('update');
      checkUpdate(NEW, missing, p4);
    });

    it('never takes a fresh number that a goto in the kernel points at, even with no filters in it', () => {
      // Chain 10003 emptied: the live 10002 still jumps there.
      const emptied = live(NEW, 0).filter((f) => f.chain !== 10003);
      const plan = planDevice(NEW, state(emptied), ZONE);
      expect(plan.chains).to.deep.equal([20000, 20001, 20002, 20003]);
      checkUpdate(NEW, emptied, plan);
    });

    it('falls back to the lowest free number, and fails when the owned range is full', () => {
      const unreadable = (chain: number): KernelFilter => ({ chain, prio: 10, protocol: 'ip' });
      const blocked = deviceStateOf(DEV, 'clsact', [10000, 20000, 10001, 20001, 10004].map(unreadable));
      expect(planDevice(NEW, blocked, ZONE).chains).to.deep.equal([10006, 10005, 10002, 10003]);
      const full: KernelFilter[] = [];
      for (let c = 10000; c <= 29999; c++) full.push(unreadable(c));
      expect(() => planDevice(NEW, deviceStateOf(DEV, 'clsact', full), ZONE)).to.throw(
        /no free chain number/,
      );
    });
  });

  describe('no-op and repair', () => {
    for (const gen of [0, 1] as const) {
      it(`kernel state equal to the desired one at base ${gen}: zero lines`, () => {
        const plan = planDevice(NEW, state(live(NEW, gen)), ZONE);
        expect(plan).to.deep.equal({ device: DEV, kind: 'noop', lines: [], chains: chainsOf(NEW, gen) });
      });
    }

    it('a mixed numbering (after a per-chain update) is also read back as equal', () => {
      const mixed = [20000, 10001, 20002, 10003];
      expect(planDevice(NEW, state(liveAs(NEW, mixed)), ZONE)).to.deep.equal({
        device: DEV,
        kind: 'noop',
        lines: [],
        chains: mixed,
      });
    });

    it('the order in which tc prints the filters does not matter', () => {
      const dump = live(NEW, 0);
      const pairs: Json[][] = [];
      for (let i = 0; i < dump.length; i += 2) pairs.push(dump.slice(i, i + 2));
      expect(planDevice(NEW, state(pairs.reverse().flat()), ZONE).kind).to.equal('noop');
    });

    for (const gen of [0, 1] as const) {
      it(`live chains at base ${gen} right, leftovers at the other: deletes only the leftovers`, () => {
        const spare = (1 - gen) as FreshChoice;
        const plan = planDevice(NEW, state([...live(NEW, gen), ...leftovers(OLD, spare)]), ZONE);
        expect(plan).to.deep.equal({
          device: DEV,
          kind: 'repair',
          lines: chainsOf(OLD, spare).map(chainDel),
          chains: chainsOf(NEW, gen),
        });
      });
    }
  });

  describe('cleanup', () => {
    it('deletes the entry first, then the chains, then the qdisc it no longer needs', () => {
      const plan = planDevice(NONE, state(live(OLD, 0)), ZONE);
      expect(plan.kind).to.equal('cleanup');
      expect(plan.chains).to.equal(undefined);
      expect(plan.lines).to.deep.equal([
        ENTRY_DEL,
        ...chainsOf(OLD, 0).map(chainDel),
        `qdisc del dev ${DEV} clsact`,
      ]);
    });

    it('removes leftovers at both bases', () => {
      const plan = planDevice(NONE, state([...live(OLD, 1), ...leftovers(NEW, 0)]), ZONE);
      expect(plan.lines).to.deep.equal([
        ENTRY_DEL,
        ...chainsOf(NEW, 0).map(chainDel),
        ...chainsOf(OLD, 1).map(chainDel),
        `qdisc del dev ${DEV} clsact`,
      ]);
      const noEntry = planDevice(NONE, state(leftovers(OLD, 1)), ZONE);
      expect(noEntry.lines).to.deep.equal([...chainsOf(OLD, 1).map(chainDel), `qdisc del dev ${DEV} clsact`]);
    });

    it('keeps the qdisc when other filters use the hook, or when it is an ingress qdisc', () => {
      const withForeign = planDevice(NONE, state([...live(OLD, 0), ...FOREIGN]), ZONE);
      expect(withForeign.lines).to.deep.equal([ENTRY_DEL, ...chainsOf(OLD, 0).map(chainDel)]);
      const ingressQdisc = planDevice(NONE, state(live(OLD, 0), 'ingress'), ZONE);
      expect(ingressQdisc.lines).to.deep.equal([ENTRY_DEL, ...chainsOf(OLD, 0).map(chainDel)]);
    });

    it('nothing of ours on the device: no-op, whatever else is there', () => {
      for (const [dump, q] of [
        [[], 'none'],
        [[], 'clsact'],
        [FOREIGN, 'clsact'],
      ] as [Json[], Qdisc][]) {
        expect(planDevice(NONE, state(dump, q), ZONE)).to.deep.equal({
          device: DEV,
          kind: 'noop',
          lines: [],
        });
      }
    });
  });

  describe('filters of other software', () => {
    const scenarios: [string, DevicePipeline, Json[], Qdisc][] = [
      ['install', NEW, [], 'clsact'],
      ['install over leftovers', NEW, [...leftovers(OLD, 0), ...leftovers(OLD, 1)], 'clsact'],
      ['update from base 0', NEW, live(OLD, 0), 'clsact'],
      ['update from base 1', NEW, [...live(OLD, 1), ...leftovers(NEW, 0).slice(0, 5)], 'clsact'],
      ['noop', NEW, live(NEW, 0), 'clsact'],
      ['repair', NEW, [...live(NEW, 1), ...leftovers(OLD, 0)], 'clsact'],
      ['cleanup', NONE, [...live(OLD, 0), ...leftovers(NEW, 1)], 'clsact'],
    ];
    for (const [what, desired, dump, q] of scenarios) {
      it(`never appear in a planned line (${what})`, () => {
        const without = planDevice(desired, state(dump, q), ZONE);
        const withForeign = planDevice(
          desired,
          state([...FOREIGN.slice(0, 4), ...dump, ...FOREIGN.slice(4)], q),
          ZONE,
        );
        expect(state([...FOREIGN, ...dump], q).foreign).to.have.length(FOREIGN.length / 2);
        // The same plan, except that a shared hook keeps its qdisc.
        expect(withForeign.lines).to.deep.equal(without.lines.filter((l) => !l.startsWith('qdisc del')));
        expect(withForeign.kind).to.equal(without.kind);
        checkNoForeign(withForeign);
      });
    }
  });
});

describe('planDevice: chains of equal content', () => {
  // Two port chains with the same content, each reached from its own address filter. When the
  // places 10000 + i and 20000 + i of the first copy are taken, it is written at the lowest free
  // number; a restart must pair each kernel copy with the place the live rules use it at.
  const ports: Filter[] = [
    {
      prio: 10,
      protocol: 'ip',
      match: { ipProto: 'tcp', dstPort: [80, 80] },
      actions: [{ kind: 'pass' }],
      note: '',
    },
    { prio: 24, protocol: 'all', match: {}, actions: [{ kind: 'drop' }], note: '' },
  ];
  const to = (ip: string, chain: number): Filter => ({
    prio: 20,
    protocol: 'ip',
    match: { dstIp: ip },
    actions: [{ kind: 'goto', chain }],
    note: '',
  });
  const twin: DevicePipeline = {
    ...OLD,
    chains: [
      { index: 0, purpose: 'root', filters: [to('10.0.0.1/32', 1), to('10.0.0.2/32', 2)] },
      { index: 1, purpose: 'ports', filters: ports },
      { index: 2, purpose: 'ports', filters: ports },
    ],
  };
  it('a restart over two copies of one chain writes nothing, whichever numbers they got', () => {
    // Earlier updates can leave the first copy at a higher number than the second (the property
    // test reached such a state); neither is at 10000 + i or 20000 + i of the first.
    for (const numbering of [
      [10000, 10005, 10002],
      [10000, 20007, 10002],
      [20000, 10003, 10001],
    ]) {
      const again = planDevice(twin, state(liveAs(twin, numbering)), ZONE);
      expect(again.lines, numbering.join(' ')).to.deep.equal([]);
      expect(again.chains).to.deep.equal(numbering);
    }
  });
});

/** No line deletes, replaces or writes into a chain outside the agent's ranges, except the entry in chain 0. */
function checkNoForeign(plan: DevicePlan): void {
  for (const l of plan.lines) {
    if (l.startsWith('qdisc ')) {
      expect(l, 'the qdisc of a shared hook stays').to.not.match(/^qdisc del/);
      continue;
    }
    const chain = chainOfLine(l)!;
    if (chain === 0) {
      expect(l, 'only the entry lives in chain 0').to.match(/ pref 1 handle 1 chain 0 flower/);
      continue;
    }
    expect(isOwnedChain(chain), l).to.equal(true);
    expect(
      FOREIGN_CHAINS.filter((c) => c !== 0),
      l,
    ).to.not.include(chain);
    for (const m of l.matchAll(/goto chain (\d+)/g)) expect(isOwnedChain(Number(m[1])), l).to.equal(true);
  }
}
