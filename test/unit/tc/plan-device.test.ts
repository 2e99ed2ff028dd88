// planDevice: the writes that move one representor from its kernel state (read back through
// parseFilterDump from what tc prints) to the desired pipeline. Make-before-break: the new
// generation is written first, the entry switched with one replace, the old generation deleted
// last; filters of other software are never touched.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { classify, type DeviceState } from '../../../src/tc/apply/device-state.js';
import { parseFilterDump } from '../../../src/tc/apply/parse-filters.js';
import { planDevice, type DevicePlan } from '../../../src/tc/apply/plan-device.js';
import { compileNode } from '../../../src/tc/compile-node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile-options.js';
import type { DevicePipeline } from '../../../src/tc/ir.js';
import { absoluteChain, GENERATION_BASE, GENERATION_SPAN, type Generation } from '../../../src/tc/layout.js';
import { renderEntry, renderGenerationLines } from '../../../src/tc/render-tc.js';
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

/** Filters of other software: chain 0 below and above the entry, chains outside both generations. */
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
  return classify(DEV, q, parseFilterDump(JSON.parse(JSON.stringify(dump)) as unknown[], ZONE));
}

/** The device with `d` live in generation `gen` (entry included). */
const live = (d: DevicePipeline, gen: Generation): Json[] => deviceDump(d, { gen, ctZone: ZONE });
/** Only the chains of `d` in generation `gen`, no entry (leftovers). */
const leftovers = (d: DevicePipeline, gen: Generation): Json[] => generationDump(d, { gen, ctZone: ZONE });

const chainDel = (chain: number) => `chain del dev ${DEV} ingress chain ${chain}`;
const chainsOf = (d: DevicePipeline, gen: Generation) => d.chains.map((c) => absoluteChain(gen, c.index));
const ENTRY_DEL = `filter del dev ${DEV} ingress protocol all pref 1 handle 1 chain 0 flower`;

function chainOfLine(line: string): number | undefined {
  const m = / chain (\d+)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

function inGeneration(chain: number, gen: Generation): boolean {
  return chain >= GENERATION_BASE[gen] && chain < GENERATION_BASE[gen] + GENERATION_SPAN;
}

describe('planDevice', () => {
  it('the two fixture pipelines differ (so updates below are real updates)', () => {
    expect(OLD.chains.length).to.be.greaterThan(2);
    expect(renderGenerationLines(NEW, 0, ZONE)).to.not.deep.equal(renderGenerationLines(OLD, 0, ZONE));
  });

  describe('fresh install', () => {
    it('adds the qdisc, writes generation 0, and adds the entry last', () => {
      const plan = planDevice(NEW, state([], 'none'), ZONE);
      expect(plan.kind).to.equal('install');
      expect(plan.generation).to.equal(0);
      expect(plan.lines).to.deep.equal([
        `qdisc add dev ${DEV} clsact`,
        ...renderGenerationLines(NEW, 0, ZONE),
        renderEntry(DEV, 0, 'add'),
      ]);
      expect(plan.lines[plan.lines.length - 1]).to.equal(
        `filter add dev ${DEV} ingress protocol all pref 1 handle 1 chain 0 flower action gact goto chain 10000 cookie 6d6e702d7463`,
      );
      // Before the entry, nothing touches chain 0: no packet sees a half-written generation.
      for (const l of plan.lines.slice(1, -1)) expect(inGeneration(chainOfLine(l)!, 0), l).to.equal(true);
    });

    it('keeps an existing clsact or ingress qdisc', () => {
      for (const q of ['clsact', 'ingress'] as const) {
        const plan = planDevice(NEW, state([], q), ZONE);
        expect(plan.lines).to.deep.equal([
          ...renderGenerationLines(NEW, 0, ZONE),
          renderEntry(DEV, 0, 'add'),
        ]);
      }
    });

    it('after an interrupted install (no entry), clears generation 0 first and stale generation 1 after the entry', () => {
      const partial = leftovers(OLD, 0).slice(0, 12);
      const plan = planDevice(NEW, state([...partial, ...leftovers(OLD, 1)]), ZONE);
      expect(plan.kind).to.equal('install');
      const partialChains = [...new Set(parseFilterDump(partial).map((k) => k.chain))].sort((a, b) => a - b);
      expect(plan.lines).to.deep.equal([
        ...partialChains.map(chainDel),
        ...renderGenerationLines(NEW, 0, ZONE),
        renderEntry(DEV, 0, 'add'),
        ...chainsOf(OLD, 1).map(chainDel),
      ]);
    });
  });

  describe('update', () => {
    for (const from of [0, 1] as const) {
      const to = (1 - from) as Generation;
      it(`from generation ${from}: writes generation ${to}, replaces the entry, then deletes generation ${from}`, () => {
        const plan = planDevice(NEW, state(live(OLD, from)), ZONE);
        expect(plan.kind).to.equal('update');
        expect(plan.generation).to.equal(to);
        expect(plan.lines).to.deep.equal([
          ...renderGenerationLines(NEW, to, ZONE),
          renderEntry(DEV, to, 'replace'),
          ...chainsOf(OLD, from).map(chainDel),
        ]);
        const switchAt = plan.lines.indexOf(renderEntry(DEV, to, 'replace'));
        for (const l of plan.lines.slice(0, switchAt))
          expect(l.startsWith('filter add ') && inGeneration(chainOfLine(l)!, to), l).to.equal(true);
        for (const l of plan.lines.slice(switchAt + 1))
          expect(l.startsWith('chain del ') && inGeneration(chainOfLine(l)!, from), l).to.equal(true);
      });
    }

    it('clears leftovers of the spare generation before writing into it', () => {
      const plan = planDevice(NEW, state([...live(OLD, 0), ...leftovers(NEW, 1).slice(0, 9)]), ZONE);
      expect(plan.kind).to.equal('update');
      const first = plan.lines.findIndex((l) => l.startsWith('filter add'));
      expect(first).to.be.greaterThan(0);
      for (const l of plan.lines.slice(0, first))
        expect(l, 'only spare chains are cleared first').to.match(
          /^chain del dev rep1 ingress chain 2\d{4}$/,
        );
      expect(plan.lines.slice(first, first + renderGenerationLines(NEW, 1, ZONE).length)).to.deep.equal(
        renderGenerationLines(NEW, 1, ZONE),
      );
    });

    it('rewrites a live generation it cannot read or that differs in ct zone, or whose chains are gone', () => {
      // An unreadable filter inside the live generation.
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
      expect(planDevice(NEW, state([...live(NEW, 0), ...odd]), ZONE).kind).to.equal('update');
      // The same pipeline in another conntrack zone.
      const otherZone = deviceDump(NEW, { gen: 0, ctZone: ZONE + 1 });
      const p = planDevice(NEW, state(otherZone), ZONE);
      expect(p.kind).to.equal('update');
      expect(p.lines.join('\n')).to.include(`zone ${ZONE} pipe`);
      // The entry survived but someone flushed the generation.
      expect(planDevice(NEW, state(entryJson(10000)), ZONE).kind).to.equal('update');
      // One filter missing.
      const missing = live(NEW, 0).filter((_, i) => i !== 7 && i !== 6);
      expect(planDevice(NEW, state(missing), ZONE).kind).to.equal('update');
    });
  });

  describe('no-op and repair', () => {
    for (const gen of [0, 1] as const) {
      it(`kernel state equal to the desired one in generation ${gen}: zero lines`, () => {
        const plan = planDevice(NEW, state(live(NEW, gen)), ZONE);
        expect(plan).to.deep.equal({ device: DEV, kind: 'noop', lines: [], generation: gen });
      });
    }

    it('the order in which tc prints the filters does not matter', () => {
      const dump = live(NEW, 0);
      const pairs: Json[][] = [];
      for (let i = 0; i < dump.length; i += 2) pairs.push(dump.slice(i, i + 2));
      expect(planDevice(NEW, state(pairs.reverse().flat()), ZONE).kind).to.equal('noop');
    });

    for (const gen of [0, 1] as const) {
      it(`live generation ${gen} right, leftovers in the spare: deletes only the leftovers`, () => {
        const spare = (1 - gen) as Generation;
        const plan = planDevice(NEW, state([...live(NEW, gen), ...leftovers(OLD, spare)]), ZONE);
        expect(plan).to.deep.equal({
          device: DEV,
          kind: 'repair',
          lines: chainsOf(OLD, spare).map(chainDel),
          generation: gen,
        });
      });
    }
  });

  describe('cleanup', () => {
    it('deletes the entry first, then the chains, then the qdisc it no longer needs', () => {
      const plan = planDevice(NONE, state(live(OLD, 0)), ZONE);
      expect(plan.kind).to.equal('cleanup');
      expect(plan.generation).to.equal(undefined);
      expect(plan.lines).to.deep.equal([
        ENTRY_DEL,
        ...chainsOf(OLD, 0).map(chainDel),
        `qdisc del dev ${DEV} clsact`,
      ]);
    });

    it('removes leftovers of both generations', () => {
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
      ['update 0 -> 1', NEW, live(OLD, 0), 'clsact'],
      ['update 1 -> 0', NEW, [...live(OLD, 1), ...leftovers(NEW, 0).slice(0, 5)], 'clsact'],
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
    expect(inGeneration(chain, 0) || inGeneration(chain, 1), l).to.equal(true);
    expect(
      FOREIGN_CHAINS.filter((c) => c !== 0),
      l,
    ).to.not.include(chain);
    for (const m of l.matchAll(/goto chain (\d+)/g))
      expect(inGeneration(Number(m[1]), 0) || inGeneration(Number(m[1]), 1), l).to.equal(true);
  }
}
