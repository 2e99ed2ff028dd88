// Hand-written simulator cases on the small fixed cluster of fixtures.ts: traffic that passes
// untouched (ARP, neighbour discovery), VLAN and QinQ encapsulations, ICMP options, and networks
// without policies.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import type { Flow } from '../../../src/policy/types.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS, ND_TYPES, type CompileOptions } from '../../../src/tc/compile/options.js';
import type { DevicePipeline, Filter } from '../../../src/tc/ir.js';
import { Conntrack, type Packet, type VlanTpid } from '../../../src/tc/simulate/packet.js';
import { renderNodeTc } from '../../../src/tc/render/render-tc.js';
import { simulateDevice } from '../../../src/tc/simulate/simulate.js';
import { SimulatorMemo } from '../../../src/tc/simulate/simulator-memo.js';
import { ClusterSimulator } from '../../../src/tc/simulate/trace.js';
import { clusterObjects, flow, load, MAC, OTHER, policy } from './fixtures.js';

const POLICIES = [
  policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
  policy('x', 'b-from-a', {
    podSelector: { matchLabels: { pod: 'b' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 'http' }] }],
  }),
  policy('x', 'a-egress', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [
      { to: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 80 }] },
      {
        to: [{ ipBlock: { cidr: '10.0.0.3/32' } }, { ipBlock: { cidr: 'fd00::3/128' } }],
        ports: [{ port: 443 }],
      },
    ],
  }),
];

const loaded = load(clusterObjects(POLICIES));

function simulator(opts: Partial<CompileOptions> = {}): ClusterSimulator {
  return new ClusterSimulator(loaded.snapshot, loaded.model, { ...DEFAULT_COMPILE_OPTIONS, ...opts });
}

function device(node: string, name: string, opts: Partial<CompileOptions> = {}): DevicePipeline {
  const p = compileNode(loaded.model, node, loaded.snapshot.nodes.get(node), {
    ...DEFAULT_COMPILE_OPTIONS,
    ...opts,
  });
  const d = p.devices.find((x) => x.device === name);
  if (!d) throw new Error(`no device ${name} on ${node}`);
  return d;
}

function packet(dev: string, p: Partial<Packet>): Packet {
  return { device: dev, tags: [], ethType: 'ip', ...p };
}

/** Flows of the fixture with their expected verdicts (the reference agrees, checked below). */
const FLOWS: [Flow, 'allow' | 'deny'][] = [
  [flow('10.0.0.1', '10.0.0.2', 'TCP', 80), 'allow'],
  [flow('fd00::1', 'fd00::2', 'TCP', 80), 'allow'],
  [flow('10.0.0.1', '10.0.0.3', 'TCP', 443), 'allow'],
  [flow('fd00::1', 'fd00::3', 'TCP', 443), 'allow'],
  [flow('10.0.0.3', '10.0.0.2', 'TCP', 80), 'deny'],
  [flow('10.0.0.1', '10.0.0.2', 'TCP', 81), 'deny'],
  [flow('10.0.0.1', '10.0.0.2', 'UDP', 80), 'deny'],
  [flow('10.0.0.2', '10.0.0.1', 'TCP', 80), 'deny'],
  [flow('10.0.0.3', '10.0.0.1', 'TCP', 80), 'deny'],
  [flow('fd00::3', 'fd00::1', 'TCP', 443), 'deny'],
  [flow('10.0.0.1', '10.0.0.3', 'TCP', 80), 'deny'],
  [flow('192.0.2.1', '10.0.0.2', 'TCP', 80), 'deny'],
  [flow('10.0.0.3', '192.0.2.1', 'TCP', 80), 'allow'],
];

/** Whether the first packet of `f` meets at least one filter on its way. */
function crossesFilters(f: Flow): boolean {
  return simulator()
    .trace(f)
    .forward.some((h) => h.result.hits.length > 0);
}

const label = (f: Flow) => `${f.srcIp} -> ${f.dstIp} ${f.protocol}/${f.port ?? '-'}`;

describe('simulate: the fixture', () => {
  it('flows get the expected verdicts, in the reference and in the pipeline', () => {
    for (const [f, want] of FLOWS) {
      expect(verdict(loaded.model, f).verdict, `reference ${label(f)}`).to.equal(want);
      const t = simulator().trace(f);
      expect(t.verdict, `pipeline ${label(f)}`).to.equal(want);
      if (want === 'allow') expect(t.replyVerdict, `reply ${label(f)}`).to.equal('allow');
    }
  });
});

describe('simulate: traffic that passes untouched', () => {
  for (const [node, dev] of [
    ['w1', 'rep1'],
    ['w1', 'rep2'],
    ['w1', 'up-w1'],
  ] as const) {
    it(`ARP passes ${node}/${dev} under default deny, without conntrack`, () => {
      const d = device(node, dev);
      expect(d.chains.length, 'the device is filtered').to.be.greaterThan(0);
      for (const tags of [[], ['802.1q'], ['802.1ad', '802.1q']] as VlanTpid[][]) {
        const ct = new Conntrack();
        const r = simulateDevice(new SimulatorMemo(), d, packet(dev, { tags, ethType: 'arp' }), ct);
        expect(r.verdict, `tags [${tags.join(',')}]`).to.equal('pass');
        expect(r.unclassified).to.equal(false);
        expect(r.hits).to.have.length(1);
        expect(r.hits[0]!.note).to.match(/everything else passes/);
        expect(ct.size).to.equal(0);
      }
      const other = simulateDevice(
        new SimulatorMemo(),
        d,
        packet(dev, { ethType: 'other' }),
        new Conntrack(),
      );
      expect(other.verdict).to.equal('pass');
    });
  }

  it('IPv6 neighbour discovery (ICMPv6 133-137) passes both hooks, untagged and tagged, without conntrack', () => {
    for (const [node, dev, src, dst] of [
      ['w1', 'rep1', 'fd00::1', 'ff02::1:ff00:2'],
      ['w1', 'up-w1', 'fd00::3', 'fd00::1'],
    ] as const) {
      const d = device(node, dev);
      for (const type of ND_TYPES) {
        for (const tags of [[], ['802.1q'], ['802.1ad', '802.1q']] as VlanTpid[][]) {
          const ct = new Conntrack();
          const p = packet(dev, { tags, ethType: 'ipv6', srcIp: src, dstIp: dst, ipProto: 'icmpv6' });
          const r = simulateDevice(new SimulatorMemo(), d, { ...p, icmpType: type }, ct);
          expect(r.verdict, `${dev} type ${type} [${tags.join(',')}]`).to.equal('pass');
          expect(r.unclassified).to.equal(false);
          expect(r.hits[0]!.note).to.match(/^neighbour discovery: /);
          expect(ct.size).to.equal(0);
        }
      }
    }
  });

  it('neighbour solicitation passes where an ICMPv6 echo request is denied', () => {
    const d = device('w1', 'rep2');
    const base = packet('rep2', { ethType: 'ipv6', srcIp: 'fd00::2', dstIp: 'fd00::1', ipProto: 'icmpv6' });
    expect(
      simulateDevice(new SimulatorMemo(), d, { ...base, icmpType: 135 }, new Conntrack()).verdict,
    ).to.equal('pass');
    expect(
      simulateDevice(new SimulatorMemo(), d, { ...base, icmpType: 128 }, new Conntrack()).verdict,
    ).to.equal('drop');
    expect(simulator().trace(flow('fd00::2', 'fd00::1', 'ICMPv6')).verdict).to.equal('deny');
  });

  it('the masked neighbour-discovery matches let exactly types 133-137 through, no neighbour of them', () => {
    const d = device('w1', 'rep2');
    const base = packet('rep2', { ethType: 'ipv6', srcIp: 'fd00::2', dstIp: 'fd00::1', ipProto: 'icmpv6' });
    for (let type = 0; type < 256; type++) {
      const r = simulateDevice(new SimulatorMemo(), d, { ...base, icmpType: type }, new Conntrack());
      const nd = (ND_TYPES as readonly number[]).includes(type);
      expect(r.hits[0]!.note.startsWith('neighbour discovery'), `type ${type}`).to.equal(nd);
    }
  });
});

describe('simulate: VLAN encapsulations', () => {
  it('IP inside [802.1q] gets the same verdict as untagged, reply included', () => {
    for (const [f] of FLOWS) {
      const sim = simulator();
      const untagged = sim.trace(f);
      sim.resetConntrack();
      const tagged = sim.trace(f, ['802.1q']);
      expect(tagged.verdict, label(f)).to.equal(untagged.verdict);
      expect(tagged.replyVerdict, label(f)).to.equal(untagged.replyVerdict);
      // The same filters decided, in the tagged carrier.
      expect(tagged.forward.map((h) => h.result.hits.length)).to.deep.equal(
        untagged.forward.map((h) => h.result.hits.length),
      );
    }
  });

  // act_ct drops QinQ frames on Linux 6.1, so QinQ is judged without conntrack: a new connection
  // gets the untagged verdict, and nothing is ever allowed that untagged traffic would not be.
  it('IP inside [802.1ad, 802.1q] gets the untagged verdict for new connections, without conntrack', () => {
    for (const [f] of FLOWS) {
      const sim = simulator();
      const untagged = sim.trace(f);
      sim.resetConntrack();
      const tagged = sim.trace(f, ['802.1ad', '802.1q']);
      expect(tagged.verdict, label(f)).to.equal(untagged.verdict);
      for (const h of [...tagged.forward, ...tagged.reply]) {
        for (const hit of h.result.hits) {
          expect(
            hit.actions.some((a) => a.kind === 'ct'),
            `${label(f)}: ${hit.note}`,
          ).to.equal(false);
        }
      }
      if (untagged.replyVerdict !== 'allow') expect(tagged.replyVerdict, label(f)).to.not.equal('allow');
    }
  });

  it('a connection opened untagged is established for its tagged reply (one conntrack table)', () => {
    const sim = simulator();
    const f = flow('10.0.0.1', '10.0.0.2', 'TCP', 80);
    expect(sim.trace(f).verdict).to.equal('allow');
    const reply = simulateDevice(
      new SimulatorMemo(),
      device('w1', 'rep2'),
      packet('rep2', {
        tags: ['802.1q'],
        srcIp: '10.0.0.2',
        dstIp: '10.0.0.1',
        ipProto: 'tcp',
        srcPort: 80,
        dstPort: 40000,
      }),
      sim.conntrack('w1'),
    );
    expect(reply.verdict).to.equal('pass');
    expect(reply.hits.map((h) => h.note)).to.include('packet of an established connection');
  });

  const unclassified: VlanTpid[][] = [
    ['802.1q', '802.1q'],
    ['802.1q', '802.1ad'],
    ['802.1ad'],
    ['802.1ad', '802.1ad'],
    ['802.1ad', '802.1q', '802.1q'],
    ['802.1ad', '802.1q', '802.1ad'],
  ];
  for (const tags of unclassified) {
    it(`IP inside [${tags.join(', ')}] is dropped, even when the flow is allowed`, () => {
      for (const [f, want] of FLOWS) {
        // Devices without filters (w2 has no isolated pod) let everything through.
        if (!crossesFilters(f)) continue;
        const t = simulator().trace(f, tags);
        expect(t.verdict, `${label(f)} (allowed untagged: ${want})`).to.equal('deny');
        const last = t.forward[t.forward.length - 1]!.result;
        expect(last.hits[0]!.note).to.equal('tag stack the pipeline does not classify');
      }
      for (const v6 of [false, true]) {
        const d = device('w1', 'rep1');
        const p = packet('rep1', {
          tags,
          ethType: v6 ? 'ipv6' : 'ip',
          srcIp: v6 ? 'fd00::1' : '10.0.0.1',
          dstIp: v6 ? 'fd00::2' : '10.0.0.2',
          ipProto: 'tcp',
          srcPort: 1234,
          dstPort: 80,
        });
        expect(
          simulateDevice(new SimulatorMemo(), d, p, new Conntrack()).verdict,
          `IPv${v6 ? 6 : 4}`,
        ).to.equal('drop');
      }
    });
  }

  it('all but one flow of the fixture cross a filtered device (the drops above are not vacuous)', () => {
    expect(FLOWS.filter(([f]) => !crossesFilters(f)).map(([f]) => label(f))).to.deep.equal([
      '10.0.0.3 -> 192.0.2.1 TCP/80',
    ]);
    const t = simulator().trace(flow('10.0.0.3', '192.0.2.1', 'TCP', 80), ['802.1q', '802.1q']);
    expect(t.verdict, 'an unfiltered device passes any tag stack').to.equal('allow');
  });
});

describe('simulate: ICMP options', () => {
  const icmp4 = flow('10.0.0.2', '10.0.0.1', 'ICMP');
  const icmp6 = flow('fd00::2', 'fd00::1', 'ICMPv6');
  const cross4 = flow('10.0.0.3', '10.0.0.1', 'ICMP');

  it('without options, ICMP and ICMPv6 echo follow the policy (denied here)', () => {
    for (const f of [icmp4, icmp6, cross4]) {
      expect(verdict(loaded.model, f).verdict).to.equal('deny');
      expect(simulator().trace(f).verdict, label(f)).to.equal('deny');
    }
  });

  it('--accept-icmp lets every ICMP packet through, both ways, without conntrack; not ICMPv6', () => {
    const sim = simulator({ acceptIcmp: true });
    for (const f of [icmp4, cross4]) {
      const t = sim.trace(f);
      expect(t.verdict, label(f)).to.equal('allow');
      expect(t.replyVerdict).to.equal('allow');
      const filtered = t.forward.filter((h) => h.result.hits.length > 0);
      expect(filtered.length, label(f)).to.be.greaterThan(0);
      for (const h of filtered)
        expect(h.result.hits.map((x) => x.note)).to.deep.equal(['ICMP passes (--accept-icmp) (ipv4)']);
    }
    expect(sim.conntrack('w1').size + sim.conntrack('w2').size).to.equal(0);
    expect(sim.trace(icmp6).verdict).to.equal('deny');
    expect(sim.trace(flow('10.0.0.2', '10.0.0.1', 'TCP', 80)).verdict, 'TCP still denied').to.equal('deny');
    const tagged = sim.trace(icmp4, ['802.1ad', '802.1q']);
    expect(tagged.verdict, 'QinQ ICMP').to.equal('allow');
  });

  it('acceptIcmpv6 lets every ICMPv6 packet through; not ICMP', () => {
    const sim = simulator({ acceptIcmpv6: true });
    const t = sim.trace(icmp6);
    expect(t.verdict).to.equal('allow');
    expect(t.replyVerdict).to.equal('allow');
    expect(sim.trace(icmp4).verdict).to.equal('deny');
    expect(sim.trace(icmp6, ['802.1q']).verdict, 'VLAN ICMPv6').to.equal('allow');
    // Neighbour discovery needs no special filters then: one ICMPv6 filter per IPv6 carrier.
    const classify = device('w1', 'rep1', { acceptIcmpv6: true }).chains[0]!;
    expect(classify.filters.filter((f) => f.match.icmpType !== undefined)).to.have.length(0);
    expect(classify.filters.filter((f) => f.match.ipProto === 'icmpv6')).to.have.length(3);
  });
});

describe('simulate: networks without policies', () => {
  it('an unisolated network produces no filters while no pod of the node is isolated for ingress', () => {
    const egressOnly = [
      policy('x', 'a-egress', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] }),
    ];
    const { snapshot, model } = load(clusterObjects(egressOnly));
    const w1 = compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
    const rep3 = w1.devices.find((d) => d.device === 'rep3')!;
    expect(rep3.networks).to.deep.equal([OTHER]);
    expect(rep3.chains).to.deep.equal([]);
    const up = w1.devices.find((d) => d.device === 'up-w1')!;
    expect(up.networks, 'the uplink carries only the isolated network').to.deep.equal(['default/accel']);
    expect(up.interfaces.some((k) => k.includes('/other/'))).to.equal(false);
  });

  it('with a pod of the node isolated for ingress, its VFs check it and its own traffic passes', () => {
    const w1 = compileNode(loaded.model, 'w1', loaded.snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
    const rep3 = w1.devices.find((d) => d.device === 'rep3')!;
    expect(rep3.networks).to.deep.equal([OTHER]);
    expect(rep3.chains.length, 'rep3 checks the ingress of x/a and x/b').to.be.greaterThan(0);
    const up = w1.devices.find((d) => d.device === 'up-w1')!;
    expect(up.networks, 'the uplink tracks both networks').to.deep.equal(['default/accel', OTHER]);
    const t = simulator().trace(flow('10.1.0.4', '10.1.0.9', 'TCP', 22));
    expect(t.verdict).to.equal('allow');
  });

  it('a cluster without policies (or with policies only for other networks) has no filters on any node', () => {
    const onlyMacvlan = [
      policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }, MAC),
    ];
    for (const policies of [[], onlyMacvlan]) {
      const { snapshot, model } = load(clusterObjects(policies));
      for (const node of ['w1', 'w2']) {
        const p = compileNode(model, node, snapshot.nodes.get(node), DEFAULT_COMPILE_OPTIONS);
        expect(p.devices.length, node).to.be.greaterThan(0);
        for (const d of p.devices) expect(d.chains, `${node}/${d.device}`).to.deep.equal([]);
        const text = renderNodeTc(p, DEFAULT_COMPILE_OPTIONS.ctZone);
        expect(text).not.to.match(/^(filter|qdisc|chain) /m);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// As strict as the kernel: hand-made pipelines where the kernel's rules, not the array, decide.

function handMade(filters: Filter[]): DevicePipeline {
  return {
    device: 'dev',
    kind: 'vf',
    networks: [],
    interfaces: [],
    chains: [{ index: 0, purpose: 't', filters }],
  };
}

function filter(
  prio: number,
  match: Filter['match'],
  kind: 'pass' | 'drop',
  protocol: Filter['protocol'] = 'ip',
) {
  return { prio, protocol, match, actions: [{ kind }], note: `${kind} at ${prio}` } satisfies Filter;
}

const tcp4 = packet('dev', {
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  ipProto: 'tcp',
  srcPort: 40000,
  dstPort: 80,
});

describe('simulate: filter order as in the kernel', () => {
  it('tries a chain by prio, whatever the array order', () => {
    const d = handMade([filter(20, {}, 'pass'), filter(10, {}, 'drop')]);
    const r = simulateDevice(new SimulatorMemo(), d, tcp4, new Conntrack());
    expect(r.verdict).to.equal('drop');
    expect(r.hits[0]!.prio).to.equal(10);
  });

  it('within a prio, tries mask by mask in order of first appearance, then the order written', () => {
    // Masks: {ip_proto} first (udp, then tcp), {dst_ip/32} second although written in between.
    const d = handMade([
      filter(10, { ipProto: 'udp' }, 'pass'),
      filter(10, { dstIp: '10.0.0.2/32' }, 'pass'),
      filter(10, { ipProto: 'tcp' }, 'drop'),
    ]);
    const r = simulateDevice(new SimulatorMemo(), d, tcp4, new Conntrack());
    expect(r.hits.map((h) => h.note)).to.deep.equal(['drop at 10']);
    expect(r.verdict).to.equal('drop');
  });

  it('a /0 prefix matches nothing (measured on Linux 6.1)', () => {
    for (const match of [{ dstIp: '0.0.0.0/0' }, { srcIp: '0.0.0.0/0' }]) {
      const d = handMade([filter(10, match, 'pass'), filter(20, {}, 'drop')]);
      expect(
        simulateDevice(new SimulatorMemo(), d, tcp4, new Conntrack()).verdict,
        JSON.stringify(match),
      ).to.equal('drop');
    }
    const v6 = handMade([filter(10, { dstIp: '::/0' }, 'pass', 'ipv6'), filter(20, {}, 'drop', 'ipv6')]);
    const p6 = packet('dev', {
      ethType: 'ipv6',
      srcIp: 'fd00::1',
      dstIp: 'fd00::2',
      ipProto: 'tcp',
      dstPort: 80,
    });
    expect(simulateDevice(new SimulatorMemo(), v6, p6, new Conntrack()).verdict).to.equal('drop');
  });
});

describe('simulate: refuses what tc refuses', () => {
  const refused: [string, Filter[]][] = [
    ['dst_port without ip_proto', [filter(10, { dstPort: [80, 80] }, 'pass')]],
    ['dst_port with ip_proto icmp', [filter(10, { ipProto: 'icmp', dstPort: [80, 80] }, 'pass')]],
    ['a port range from 0', [filter(10, { ipProto: 'tcp', dstPort: [0, 100] }, 'pass')]],
    ['ip_proto under protocol all', [filter(10, { ipProto: 'tcp' }, 'pass', 'all')]],
    ['dst_ip under protocol all', [filter(10, { dstIp: '10.0.0.2/32' }, 'pass', 'all')]],
    ['an IPv4 prefix under protocol ipv6', [filter(10, { dstIp: '10.0.0.2/32' }, 'pass', 'ipv6')]],
    ['icmpv6 under protocol ip', [filter(10, { ipProto: 'icmpv6' }, 'pass')]],
    ['a type without ip_proto icmp', [filter(10, { ipProto: 'tcp', icmpType: 8 }, 'pass')]],
    ['vlan_ethtype under protocol ip', [filter(10, { vlanEthType: 'ip' }, 'pass')]],
    [
      'IP keys under 802.1ad without cvlan_ethtype',
      [filter(10, { vlanEthType: '802.1q', ipProto: 'tcp' }, 'pass', '802.1ad')],
    ],
    [
      'two protocols at one prio',
      [filter(10, { ipProto: 'udp' }, 'pass'), filter(10, { ipProto: 'udp' }, 'pass', 'ipv6')],
    ],
    [
      'the same keys twice at one prio',
      [filter(10, { ipProto: 'udp' }, 'pass'), filter(10, { ipProto: 'udp' }, 'drop')],
    ],
  ];
  for (const [what, filters] of refused) {
    it(what, () => {
      // Twice with one memo: a refused chain is not remembered as an order.
      const memo = new SimulatorMemo();
      const d = handMade(filters);
      expect(() => simulateDevice(memo, d, tcp4, new Conntrack())).to.throw(/^tc refuses /);
      expect(() => simulateDevice(memo, d, tcp4, new Conntrack())).to.throw(/^tc refuses /);
    });
  }

  it('accepts the IP keys tc accepts inside tags', () => {
    const ok = handMade([
      filter(10, { vlanEthType: 'ip', ipProto: 'tcp', dstPort: [80, 81] }, 'drop', '802.1q'),
      filter(11, { vlanEthType: '802.1q', cvlanEthType: 'ip', dstIp: '10.0.0.2/32' }, 'drop', '802.1ad'),
    ]);
    expect(simulateDevice(new SimulatorMemo(), ok, tcp4, new Conntrack()).verdict).to.equal('pass');
  });
});

describe('simulate: conntrack', () => {
  const ZONE = 7;
  const syn = { ...tcp4, segment: 'open' as const };

  it('a mid-stream segment or an unsolicited answer without an entry is invalid, not new', () => {
    const ct = new Conntrack();
    expect(ct.lookup(syn, ZONE)).to.equal('new');
    expect(ct.lookup({ ...tcp4, segment: 'later' }, ZONE)).to.equal('inv');
    const synAck = { ...tcp4, srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 80, dstPort: 40000 };
    expect(ct.lookup({ ...synAck, segment: 'answer' }, ZONE)).to.equal('inv');
    expect(ct.lookup({ ...tcp4, ipProto: 'sctp', segment: 'later' }, ZONE)).to.equal('inv');
    expect(ct.lookup({ ...tcp4, ipProto: 'udp', segment: 'later' }, ZONE), 'any datagram opens').to.equal(
      'new',
    );
    ct.commit({ ...tcp4, segment: 'later' }, ZONE);
    expect(ct.size, 'an invalid packet commits nothing').to.equal(0);
    ct.commit(syn, ZONE);
    expect(ct.lookup({ ...synAck, segment: 'answer' }, ZONE)).to.equal('est');
    expect(ct.lookup({ ...tcp4, segment: 'later' }, ZONE)).to.equal('est');
  });

  it('keeps one table per zone', () => {
    const ct = new Conntrack();
    ct.commit(syn, ZONE);
    expect(ct.lookup({ ...tcp4, segment: 'later' }, ZONE)).to.equal('est');
    expect(ct.lookup({ ...tcp4, segment: 'later' }, ZONE + 1)).to.equal('inv');
    expect(ct.lookup(syn, ZONE + 1)).to.equal('new');
  });

  it('ICMP echo tuples carry the identifier; a reply without its request is invalid', () => {
    const ct = new Conntrack();
    const request = packet('dev', {
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      ipProto: 'icmp',
      icmpType: 8,
      icmpId: 5,
    });
    const reply = { ...request, srcIp: '10.0.0.2', dstIp: '10.0.0.1', icmpType: 0 };
    expect(ct.lookup(reply, ZONE)).to.equal('inv');
    ct.commit(request, ZONE);
    expect(ct.lookup(reply, ZONE)).to.equal('est');
    expect(ct.lookup({ ...reply, icmpId: 6 }, ZONE), 'another echo id').to.equal('inv');
    expect(ct.lookup({ ...request, icmpId: 6 }, ZONE), 'another echo').to.equal('new');
    const otherWay = { ...reply, icmpType: 8 };
    expect(ct.lookup(otherWay, ZONE), 'a request the other way').to.equal('new');
    expect(ct.lookup({ ...request, icmpType: 3 }, ZONE), 'an error without a connection').to.equal('inv');
  });

  it('the pipeline drops a mid-stream segment or an answer of an allowed flow that has no connection', () => {
    const f = flow('10.0.0.1', '10.0.0.2', 'TCP', 80);
    expect(simulator().send(f, 'forward', { segment: 'later' }).verdict).to.equal('deny');
    expect(simulator().send(f, 'back', { segment: 'answer' }).verdict).to.equal('deny');
    const icmp = simulator({ acceptIcmp: false });
    expect(icmp.send(flow('10.0.0.2', '10.0.0.1', 'ICMP'), 'back', { segment: 'answer' }).verdict).to.equal(
      'deny',
    );
    const sim = simulator();
    expect(sim.trace(f).verdict).to.equal('allow');
    expect(sim.send(f, 'forward', { segment: 'later' }).verdict, 'once the connection exists').to.equal(
      'allow',
    );
    expect(sim.send(f, 'back', { segment: 'later' }).verdict).to.equal('allow');
  });
});

describe('trace: which devices a flow crosses', () => {
  /** The fixture with every node's uplink named p0, as in the examples and the lab. */
  const shared = load(
    clusterObjects(POLICIES).map((o) => {
      const obj = o as { kind?: string; metadata?: { annotations?: Record<string, string> } };
      if (obj.kind !== 'Node') return o;
      return {
        ...obj,
        metadata: {
          ...obj.metadata,
          annotations: { 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors': 'p0' },
        },
      };
    }),
  );
  const sim = () => new ClusterSimulator(shared.snapshot, shared.model, DEFAULT_COMPILE_OPTIONS);

  it('crosses the destination node uplink when the nodes name their uplinks alike', () => {
    const f = flow('10.0.0.3', '10.0.0.1', 'TCP', 80);
    const t = sim().trace(f);
    expect(t.forward.map((h) => `${h.node}/${h.device}`)).to.deep.equal(['w2/rep1', 'w1/p0']);
    expect(t.verdict).to.equal('deny');
  });

  it('gives every flow of the fixture its expected verdict', () => {
    for (const [f, want] of FLOWS) {
      expect(verdict(shared.model, f).verdict, `reference ${label(f)}`).to.equal(want);
      expect(sim().trace(f).verdict, `pipeline ${label(f)}`).to.equal(want);
    }
  });

  it('stays on the switch between pods of one node', () => {
    const t = sim().trace(flow('10.0.0.1', '10.0.0.2', 'TCP', 80));
    expect(t.forward.map((h) => `${h.node}/${h.device}`)).to.deep.equal(['w1/rep1']);
  });
});
