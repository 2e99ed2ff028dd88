// parseFilterDump on output captured from the lab kernel (`tc -s -j filter show dev repA ingress`),
// and the round trip that makes a restart write nothing: every compiled pipeline, printed the way tc
// prints it, parses back into filters the planner finds equal to the desired ones.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it, before } from 'mocha';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { PolicyModel } from '../../../src/policy/types.js';
import { deviceStateOf, isEntry } from '../../../src/tc/apply/device-state.js';
import { ctZoneOf, parseFilterDump } from '../../../src/tc/apply/parse-filters.js';
import { planDevice } from '../../../src/tc/apply/plan-device.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import type { Action, DevicePipeline, Filter, FlowerMatch } from '../../../src/tc/ir.js';
import { absoluteChain, ENTRY_COOKIE, type FreshChoice } from '../../../src/tc/layout.js';
import { renderFilter } from '../../../src/tc/render/render-tc.js';
import { build, clusterArb, PLUGIN } from './cluster-gen.js';
import { deviceDump, type Json } from './tc-json.js';

const ZONE = 19790; // the default zone, 0x4d4e, as the lab printed it
const root = fileURLToPath(new URL('../../../../', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Fixtures from the lab capture.

/** Verbatim from the lab: the entry filter, header object first. */
const LAB_ENTRY: Json[] = [
  { protocol: 'all', pref: 1, kind: 'flower', chain: 0 },
  {
    protocol: 'all',
    pref: 1,
    kind: 'flower',
    chain: 0,
    options: {
      handle: 1,
      keys: {},
      not_in_hw: true,
      actions: [
        {
          order: 1,
          kind: 'gact',
          control_action: { type: 'goto', chain: 10000 },
          prob: { random_type: 'none', control_action: { type: 'pass' }, val: 0 },
          index: 14,
          ref: 1,
          bind: 1,
          installed: 0,
          last_used: 0,
          cookie: '6d6e702d7463',
          stats: { bytes: 0, packets: 0, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0 },
        },
      ],
    },
  },
];

let index = 100;

function gact(control: Json, order = 1, packets = 0): Json {
  return {
    order,
    kind: 'gact',
    control_action: control,
    prob: { random_type: 'none', control_action: { type: 'pass' }, val: 0 },
    index: index++,
    ref: 1,
    bind: 1,
    installed: 5,
    last_used: 1,
    stats: { bytes: packets * 60, packets, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0 },
  };
}

const pass = (order = 1, packets = 0) => gact({ type: 'pass' }, order, packets);
const drop = (order = 1) => gact({ type: 'drop' }, order);
const goto = (chain: number, order = 1) => gact({ type: 'goto', chain }, order);

function ct(commit: boolean, order = 1, zone = ZONE): Json {
  return {
    order,
    kind: 'ct',
    ...(commit ? { action: 'commit' } : {}),
    zone,
    control_action: { type: 'pipe' },
    index: index++,
    ref: 1,
    bind: 1,
    installed: 5,
    last_used: 1,
    stats: { bytes: 0, packets: 0, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0 },
  };
}

/** Header plus full object, as tc prints every filter. */
function filterObjects(
  protocol: string,
  pref: number,
  chain: number,
  keys: Json,
  actions: Json[],
  handle = 1,
): Json[] {
  const header = { protocol, pref, kind: 'flower', chain };
  return [header, { ...header, options: { handle, keys, not_in_hw: true, actions } }];
}

interface Sample {
  dump: Json[];
  /** The filter it must parse into. */
  filter: Omit<Filter, 'note'>;
  chain: number;
  /** The `tc filter add` line that creates it (chains from 10000, zone 19790). */
  line: string;
}

const SAMPLES: Sample[] = [
  {
    dump: filterObjects('ipv6', 11, 10000, { eth_type: 'ipv6', ip_proto: 'icmpv6', icmp_type: '135' }, [
      pass(),
    ]),
    filter: {
      prio: 11,
      protocol: 'ipv6',
      match: { ipProto: 'icmpv6', icmpType: 135 },
      actions: [{ kind: 'pass' }],
    },
    chain: 10000,
    line: 'filter add dev repA ingress protocol ipv6 pref 11 chain 10000 flower ip_proto icmpv6 type 135 action gact pass',
  },
  {
    dump: filterObjects('ip', 30, 10000, { eth_type: 'ipv4' }, [ct(false, 1), goto(10001, 2)]),
    filter: {
      prio: 30,
      protocol: 'ip',
      match: {},
      actions: [
        { kind: 'ct', commit: false },
        { kind: 'goto', chain: 10001 },
      ],
    },
    chain: 10000,
    line: 'filter add dev repA ingress protocol ip pref 30 chain 10000 flower action ct zone 19790 pipe action gact goto chain 10001',
  },
  {
    dump: filterObjects('802.1Q', 32, 10000, { vlan_ethtype: 'ip', eth_type: 'ipv4' }, [
      ct(false, 1),
      goto(10001, 2),
    ]),
    filter: {
      prio: 32,
      protocol: '802.1q',
      match: { vlanEthType: 'ip' },
      actions: [
        { kind: 'ct', commit: false },
        { kind: 'goto', chain: 10001 },
      ],
    },
    chain: 10000,
    line: 'filter add dev repA ingress protocol 802.1q pref 32 chain 10000 flower vlan_ethtype ip action ct zone 19790 pipe action gact goto chain 10001',
  },
  {
    dump: filterObjects(
      '802.1ad',
      33,
      10000,
      { vlan_ethtype: '802.1Q', cvlan_ethtype: 'ipv6', eth_type: 'ipv6' },
      [ct(false, 1), goto(10001, 2)],
    ),
    filter: {
      prio: 33,
      protocol: '802.1ad',
      match: { vlanEthType: '802.1q', cvlanEthType: 'ipv6' },
      actions: [
        { kind: 'ct', commit: false },
        { kind: 'goto', chain: 10001 },
      ],
    },
    chain: 10000,
    line: 'filter add dev repA ingress protocol 802.1ad pref 33 chain 10000 flower vlan_ethtype 802.1q cvlan_ethtype ipv6 action ct zone 19790 pipe action gact goto chain 10001',
  },
  {
    dump: filterObjects('all', 10, 10001, { ct_state: '+trk+est' }, [pass(1, 1234)]),
    filter: { prio: 10, protocol: 'all', match: { ctState: '+trk+est' }, actions: [{ kind: 'pass' }] },
    chain: 10001,
    line: 'filter add dev repA ingress protocol all pref 10 chain 10001 flower ct_state +trk+est action gact pass',
  },
  {
    dump: filterObjects('ip', 10, 10002, { eth_type: 'ipv4', dst_ip: '10.0.0.0/24' }, [goto(10003)]),
    filter: {
      prio: 10,
      protocol: 'ip',
      match: { dstIp: '10.0.0.0/24' },
      actions: [{ kind: 'goto', chain: 10003 }],
    },
    chain: 10002,
    line: 'filter add dev repA ingress protocol ip pref 10 chain 10002 flower dst_ip 10.0.0.0/24 action gact goto chain 10003',
  },
  {
    dump: filterObjects('ip', 10, 10002, { eth_type: 'ipv4', src_ip: '10.0.0.7' }, [drop()], 2),
    filter: { prio: 10, protocol: 'ip', match: { srcIp: '10.0.0.7/32' }, actions: [{ kind: 'drop' }] },
    chain: 10002,
    line: 'filter add dev repA ingress protocol ip pref 10 chain 10002 flower src_ip 10.0.0.7/32 action gact drop',
  },
  {
    dump: filterObjects('ip', 10, 10003, { eth_type: 'ipv4', ip_proto: 'tcp', dst_port: 80 }, [
      ct(true, 1),
      pass(2),
    ]),
    filter: {
      prio: 10,
      protocol: 'ip',
      match: { ipProto: 'tcp', dstPort: [80, 80] },
      actions: [{ kind: 'ct', commit: true }, { kind: 'pass' }],
    },
    chain: 10003,
    line: 'filter add dev repA ingress protocol ip pref 10 chain 10003 flower ip_proto tcp dst_port 80 action ct commit zone 19790 pipe action gact pass',
  },
  {
    dump: filterObjects(
      'ip',
      10,
      10003,
      { eth_type: 'ipv4', ip_proto: 'sctp', dst_port: { start: 1000, end: 2000 } },
      [ct(true, 1), pass(2)],
      2,
    ),
    filter: {
      prio: 10,
      protocol: 'ip',
      match: { ipProto: 'sctp', dstPort: [1000, 2000] },
      actions: [{ kind: 'ct', commit: true }, { kind: 'pass' }],
    },
    chain: 10003,
    line: 'filter add dev repA ingress protocol ip pref 10 chain 10003 flower ip_proto sctp dst_port 1000-2000 action ct commit zone 19790 pipe action gact pass',
  },
  {
    dump: filterObjects('ipv6', 11, 10003, { eth_type: 'ipv6', ip_proto: 'udp', dst_ip: 'fd00::/64' }, [
      ct(true, 1),
      pass(2),
    ]),
    filter: {
      prio: 11,
      protocol: 'ipv6',
      match: { ipProto: 'udp', dstIp: 'fd00::/64' },
      actions: [{ kind: 'ct', commit: true }, { kind: 'pass' }],
    },
    chain: 10003,
    line: 'filter add dev repA ingress protocol ipv6 pref 11 chain 10003 flower ip_proto udp dst_ip fd00::/64 action ct commit zone 19790 pipe action gact pass',
  },
];

describe('parseFilterDump: lab output', () => {
  it('reads the entry filter captured on the lab kernel', () => {
    const [k, ...rest] = parseFilterDump(LAB_ENTRY, ZONE);
    expect(rest).to.deep.equal([]);
    expect(k).to.deep.equal({
      chain: 0,
      prio: 1,
      protocol: 'all',
      handle: 1,
      cookie: ENTRY_COOKIE,
      gotoChain: 10000,
      packets: 0,
      filter: { prio: 1, protocol: 'all', match: {}, actions: [{ kind: 'goto', chain: 10000 }], note: '' },
      // The lab's veth cannot offload: tc says not_in_hw.
      offload: { inHw: false, notInHw: true, skipSw: false, skipHw: false },
    });
    expect(isEntry(k!)).to.equal(true);
    expect(deviceStateOf('repA', 'clsact', [k!])).to.deep.equal({
      device: 'repA',
      qdisc: 'clsact',
      entry: 10000,
      entryPresent: true,
      owned: [],
      foreign: [],
    });
  });

  for (const s of SAMPLES) {
    it(`reads ${s.line.replace(/^filter add dev repA ingress /, '')}`, () => {
      const parsed = parseFilterDump(s.dump, ZONE);
      expect(parsed, 'header objects are skipped').to.have.length(1);
      const k = parsed[0]!;
      expect([k.chain, k.prio, k.protocol]).to.deep.equal([s.chain, s.filter.prio, s.filter.protocol]);
      expect(k.filter).to.deep.equal({ ...s.filter, note: '' });
      // What was read renders back to the command that creates it (gotos relative to 10000).
      const relative: Filter = {
        ...k.filter!,
        actions: k.filter!.actions.map((a) => (a.kind === 'goto' ? { ...a, chain: a.chain - 10000 } : a)),
      };
      expect(renderFilter('repA', k.chain, relative, 0, ZONE)).to.equal(s.line);
    });
  }

  it('reads a whole device dump: entry, then every filter, in order; counters from the first action', () => {
    const dump = [...LAB_ENTRY, ...SAMPLES.flatMap((s) => s.dump)];
    const parsed = parseFilterDump(dump, ZONE);
    expect(parsed.map((k) => [k.chain, k.prio])).to.deep.equal([
      [0, 1],
      ...SAMPLES.map((s) => [s.chain, s.filter.prio]),
    ]);
    expect(parsed.every((k) => k.filter !== undefined)).to.equal(true);
    expect(parsed.find((k) => k.filter?.match.ctState === '+trk+est')!.packets).to.equal(1234);
    expect(parsed[2]!.gotoChain).to.equal(10001);
    const state = deviceStateOf('repA', 'clsact', parsed);
    expect(state.entry).to.equal(10000);
    expect(state.owned).to.have.length(SAMPLES.length);
    expect(state.foreign).to.deep.equal([]);
    expect(ctZoneOf(SAMPLES[1]!.dump[1]!)).to.equal(ZONE);
    expect(ctZoneOf(SAMPLES[0]!.dump[1]!)).to.equal(undefined);
  });

  it('keeps filters it cannot read, without an IR filter, so the planner rewrites instead of trusting them', () => {
    const unreadable: [string, Json[]][] = [
      [
        'an unknown key',
        filterObjects('ip', 10, 10002, { eth_type: 'ipv4', src_mac: '02:00:00:00:00:01' }, [pass()]),
      ],
      [
        'an unknown ip_proto',
        filterObjects('ip', 10, 10002, { eth_type: 'ipv4', ip_proto: 'gre' }, [pass()]),
      ],
      ['an unknown ct_state', filterObjects('all', 10, 10001, { ct_state: '+trk+inv' }, [drop()])],
      ['an unreadable port', filterObjects('ip', 10, 10003, { ip_proto: 'tcp', dst_port: 'http' }, [pass()])],
      [
        'an unknown vlan ethertype',
        filterObjects('802.1Q', 32, 10000, { vlan_ethtype: 'mpls_uc' }, [drop()]),
      ],
      [
        'another action kind',
        filterObjects('ip', 10, 10002, {}, [{ order: 1, kind: 'mirred', control_action: { type: 'pipe' } }]),
      ],
      ['another gact control', filterObjects('ip', 10, 10002, {}, [gact({ type: 'reclassify' })])],
      ['ct clear', filterObjects('ip', 30, 10000, {}, [{ ...ct(false), action: 'clear' }, goto(10001, 2)])],
      [
        'ct that does not pipe',
        filterObjects('ip', 30, 10000, {}, [{ ...ct(false), control_action: { type: 'pass' } }]),
      ],
      ['a ct zone other than ours', filterObjects('ip', 30, 10000, {}, [ct(false, 1, 7), goto(10001, 2)])],
      [
        'another classifier',
        [
          { protocol: 'ip', pref: 10, kind: 'u32', chain: 10002 },
          {
            protocol: 'ip',
            pref: 10,
            kind: 'u32',
            chain: 10002,
            options: { fh: '800::800', actions: [pass()] },
          },
        ],
      ],
      ['a protocol the compiler never uses', filterObjects('arp', 10, 10002, {}, [pass()])],
    ];
    for (const [what, dump] of unreadable) {
      const parsed = parseFilterDump(dump, ZONE);
      expect(parsed, what).to.have.length(1);
      expect(parsed[0]!.filter, what).to.equal(undefined);
      expect(parsed[0]!.chain, what).to.equal(dump[1]!.chain);
    }
    // Without an expected zone any zone is read.
    const other = filterObjects('ip', 30, 10000, {}, [ct(false, 1, 7), goto(10001, 2)]);
    expect(parseFilterDump(other)[0]!.filter).to.not.equal(undefined);
  });

  it('filters of other software stay foreign, the entry is recognised only with our cookie, handle and place', () => {
    const foreignEntry = structuredClone(LAB_ENTRY);
    delete ((foreignEntry[1]!.options as Json).actions as Json[])[0]!.cookie;
    const otherHandle = structuredClone(LAB_ENTRY);
    (otherHandle[1]!.options as Json).handle = 2;
    const matchall = [
      { protocol: 'all', pref: 49152, kind: 'matchall', chain: 0 },
      { protocol: 'all', pref: 49152, kind: 'matchall', chain: 0, options: { actions: [pass()] } },
    ];
    for (const [what, dump] of [
      ['no cookie', foreignEntry],
      ['handle 2', otherHandle],
      ['matchall', matchall],
      ['chain 5', filterObjects('ip', 10, 5, {}, [pass()])],
      ['chain 30000', filterObjects('ip', 10, 30000, {}, [pass()])],
    ] as [string, Json[]][]) {
      const state = deviceStateOf('repA', 'clsact', parseFilterDump(dump, ZONE));
      expect(state.entry, what).to.equal(undefined);
      expect(state.foreign, what).to.have.length(1);
    }
    // The entry may go to any owned chain; elsewhere it is ours but invalid (to be replaced).
    for (const [target, entry] of [
      [20000, 20000],
      [10007, 10007],
      [29999, 29999],
      [30000, undefined],
      [9999, undefined],
    ] as const) {
      const e = structuredClone(LAB_ENTRY);
      (((e[1]!.options as Json).actions as Json[])[0]!.control_action as Json).chain = target;
      const state = deviceStateOf('repA', 'clsact', parseFilterDump(e, ZONE));
      expect(state.entry, `goto ${target}`).to.equal(entry);
      expect(state.entryPresent, `goto ${target}`).to.equal(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The round trip: compiled pipeline -> tc's JSON -> parseFilterDump -> planDevice = noop.

/** A compiled filter as the kernel holds it: gotos absolute, no note; keys in a fixed order. */
function kernelForm(f: Filter, gen: FreshChoice): Omit<Filter, 'note'> {
  const actions: Action[] = f.actions.map((a) =>
    a.kind === 'goto' ? { kind: 'goto', chain: absoluteChain(gen, a.chain) } : a,
  );
  return { prio: f.prio, protocol: f.protocol, match: orderedLike(f.match), actions };
}

interface RoundTripStats {
  devices: number;
  filters: number;
}

function expectRoundTrip(d: DevicePipeline, zone: number, what: string, stats: RoundTripStats): void {
  for (const gen of [0, 1] as const) {
    for (const [headers, inHw] of [
      [true, false],
      [false, true],
    ] as const) {
      const dump = deviceDump(d, { gen, ctZone: zone, headers, inHw });
      const parsed = parseFilterDump(JSON.parse(JSON.stringify(dump)) as unknown[], zone);
      const unread = parsed.filter((k) => !k.filter);
      if (unread.length > 0) throw new Error(`${what} gen ${gen}: unreadable ${JSON.stringify(unread[0])}`);
      // Every filter reads back as exactly the filter that was compiled.
      const want = d.chains.flatMap((c) =>
        c.filters.map((f) => JSON.stringify([absoluteChain(gen, c.index), kernelForm(f, gen)])),
      );
      const got = parsed
        .filter((k) => k.chain !== 0)
        .map((k) => {
          const { note: _note, ...f } = k.filter!;
          return JSON.stringify([k.chain, { ...f, match: orderedLike(f.match) }]);
        });
      const wantSorted = [...want].sort();
      const gotSorted = [...got].sort();
      if (JSON.stringify(wantSorted) !== JSON.stringify(gotSorted)) {
        const missing = wantSorted.filter((x) => !gotSorted.includes(x));
        const extra = gotSorted.filter((x) => !wantSorted.includes(x));
        throw new Error(
          `${what} gen ${gen}: read back differs\n  compiled: ${missing.slice(0, 3).join('\n  ')}\n  read: ${extra.slice(0, 3).join('\n  ')}`,
        );
      }
      const state = deviceStateOf(d.device, 'clsact', parsed);
      if (state.entry !== absoluteChain(gen, 0)) throw new Error(`${what} gen ${gen}: entry not recognised`);
      const plan = planDevice(d, state, zone);
      if (plan.kind !== 'noop' || plan.lines.length > 0) {
        throw new Error(
          `${what} gen ${gen}: a restart would write: ${plan.kind}\n  ${plan.lines.slice(0, 5).join('\n  ')}`,
        );
      }
      expect(plan.chains).to.deep.equal(d.chains.map((c) => absoluteChain(gen, c.index)));
    }
  }
  stats.devices++;
  stats.filters += d.chains.reduce((n, c) => n + c.filters.length, 0);
}

/** The match with its keys in the order the IR type declares them (JSON comparison). */
function orderedLike(m: FlowerMatch): FlowerMatch {
  const order: (keyof FlowerMatch)[] = [
    'vlanEthType',
    'cvlanEthType',
    'ctState',
    'ipProto',
    'srcIp',
    'dstIp',
    'dstPort',
    'icmpType',
  ];
  const out: Record<string, unknown> = {};
  for (const k of order) if (m[k] !== undefined) out[k] = m[k];
  return out as FlowerMatch;
}

function compiledDevices(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  opts: CompileOptions,
): DevicePipeline[] {
  const out: DevicePipeline[] = [];
  for (const node of snapshot.nodes.keys()) {
    for (const d of compileNode(model, node, snapshot.nodes.get(node), opts).devices) {
      if (d.chains.length > 0) out.push(d);
    }
  }
  return out;
}

describe('parseFilterDump: round trip of compiled pipelines (a restart makes zero writes)', () => {
  let examples: { snapshot: ClusterSnapshot; model: PolicyModel };

  before(async () => {
    const snapshot = await loadSnapshotFromDir(join(root, 'examples', 'manifests'));
    examples = { snapshot, model: buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] }) };
  });

  it('every device of the examples reads back equal and plans noop, at both fresh bases', () => {
    const stats: RoundTripStats = { devices: 0, filters: 0 };
    for (const opts of [DEFAULT_COMPILE_OPTIONS, { ctZone: 1, acceptIcmp: true, acceptIcmpv6: true }]) {
      for (const d of compiledDevices(examples.snapshot, examples.model, opts)) {
        expectRoundTrip(d, opts.ctZone, `examples ${d.device}`, stats);
      }
    }
    // worker-1: eth1-eth4 and p0 (eth4 carries only accel-net-2, which has no isolated pod on
    // worker-1, and checks the ingress of its isolated pods of accel-net); worker-2: eth1-eth3
    // and p0; for each of the two option sets.
    expect(stats.devices).to.equal(18);
    expect(stats.filters).to.be.greaterThan(800);
  });

  it('random clusters read back equal and plan noop', function () {
    this.timeout(60_000);
    const stats: RoundTripStats = { devices: 0, filters: 0 };
    fc.sample(fc.tuple(clusterArb, fc.boolean()), { seed: 3, numRuns: 200 }).forEach(([c, icmp], i) => {
      const { snapshot, model } = build(c.objects);
      const opts = { ...DEFAULT_COMPILE_OPTIONS, acceptIcmp: icmp, acceptIcmpv6: icmp };
      for (const d of compiledDevices(snapshot, model, opts))
        expectRoundTrip(d, opts.ctZone, `cluster ${i} ${d.device}`, stats);
    });
    expect(stats.devices).to.be.greaterThan(200);
    expect(stats.filters).to.be.greaterThan(10_000);
  });
});
