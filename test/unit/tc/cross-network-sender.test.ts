// Two accelerated-bridge networks on one node share L2 when their NADs name the same bridge and
// VLAN (the defaults: bridge cni0, VLAN 1 untagged). A same-node sender of the other network
// reaches a pod without passing the uplink, so its representor checks the pod's ingress as the
// uplink does for a sender on another node (by address: a selector never picks a pod of another
// network, an ipBlock may cover it). This was a fail-open: only the same network's pods were checked.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import type { NodePipeline } from '../../../src/tc/ir.js';
import { Conntrack, type Packet } from '../../../src/tc/simulate/packet.js';
import { simulateDevice } from '../../../src/tc/simulate/simulate.js';
import { SimulatorMemo } from '../../../src/tc/simulate/simulator-memo.js';
import { ACCEL, clusterObjects, load, OTHER, policy } from './fixtures.js';

// x/b (accel, w1, rep2, 10.0.0.2) isolated for ingress, nothing allowed; x/d (other, w1, rep3).
const DENY_B = policy('x', 'deny-b', {
  podSelector: { matchLabels: { pod: 'b' } },
  policyTypes: ['Ingress'],
});
// Gives the other network filters on w1, so that rep3 is programmed at all.
const D_EGRESS_ALL = policy(
  'x',
  'd-egress',
  { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
  OTHER,
);

const SYN: Omit<Packet, 'device'> = {
  tags: [],
  ethType: 'ip',
  srcIp: '10.1.0.4',
  dstIp: '10.0.0.2',
  ipProto: 'tcp',
  srcPort: 40000,
  dstPort: 80,
};

// x/b's ingress allows 10.1.0.4 (x/d on the other network) by ipBlock, on TCP 80 only.
const B_FROM_D_BLOCK = policy('x', 'b-from-d', {
  podSelector: { matchLabels: { pod: 'b' } },
  policyTypes: ['Ingress'],
  ingress: [{ from: [{ ipBlock: { cidr: '10.1.0.4/32' } }], ports: [{ protocol: 'TCP', port: 80 }] }],
});
// x/b's ingress allows pods labelled pod=d (of ITS network: there are none), on TCP 80.
const B_FROM_D_SELECTOR = policy('x', 'b-from-d-sel', {
  podSelector: { matchLabels: { pod: 'b' } },
  policyTypes: ['Ingress'],
  ingress: [
    { from: [{ podSelector: { matchLabels: { pod: 'd' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
  ],
});
// x/d (other network) isolated for ingress, nothing allowed.
const DENY_D = policy(
  'x',
  'deny-d',
  { podSelector: { matchLabels: { pod: 'd' } }, policyTypes: ['Ingress'] },
  OTHER,
);

function compileW1(policies: Record<string, unknown>[]): NodePipeline {
  const { snapshot, model } = load(clusterObjects(policies));
  return compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
}

function send(p: NodePipeline, packet: Packet, ct = new Conntrack()): 'pass' | 'drop' {
  const d = p.devices.find((x) => x.device === packet.device);
  // A device without filters passes everything.
  if (!d) return 'pass';
  return simulateDevice(new SimulatorMemo(), d, packet, ct).verdict;
}

function fromRep3(policies: Record<string, unknown>[]): 'pass' | 'drop' {
  const { model } = load(clusterObjects(policies));
  // The reference: a source that is not a pod of the network is an outside address, denied.
  const ref = verdict(model, {
    network: ACCEL,
    srcIp: '10.1.0.4',
    dstIp: '10.0.0.2',
    protocol: 'TCP',
    port: 80,
  });
  expect(ref.verdict).to.equal('deny');
  return send(compileW1(policies), { device: 'rep3', ...SYN });
}

describe('ingress isolation against same-node senders of another network', () => {
  it('a sender on an unfiltered network does not reach an ingress-isolated pod', () => {
    expect(fromRep3([DENY_B])).to.equal('drop');
  });
  it('a sender on a filtered network does not reach an ingress-isolated pod', () => {
    expect(fromRep3([DENY_B, D_EGRESS_ALL])).to.equal('drop');
  });
  it('a selector peer does not pick a sender of another network', () => {
    expect(fromRep3([B_FROM_D_SELECTOR])).to.equal('drop');
  });

  it('an ipBlock that covers the sender lets it in, on the allowed port only; the reply passes', () => {
    const { model } = load(clusterObjects([B_FROM_D_BLOCK]));
    const flow = { network: ACCEL, srcIp: '10.1.0.4', dstIp: '10.0.0.2', protocol: 'TCP' as const };
    expect(verdict(model, { ...flow, port: 80 }).verdict).to.equal('allow');
    expect(verdict(model, { ...flow, port: 81 }).verdict).to.equal('deny');
    const p = compileW1([B_FROM_D_BLOCK]);
    const ct = new Conntrack();
    expect(send(p, { device: 'rep3', ...SYN, dstPort: 81 }, ct)).to.equal('drop');
    expect(send(p, { device: 'rep3', ...SYN }, ct)).to.equal('pass');
    // The answer enters at the receiver's representor: established in the node's conntrack.
    const reply: Packet = {
      device: 'rep2',
      tags: [],
      ethType: 'ip',
      srcIp: '10.0.0.2',
      dstIp: '10.1.0.4',
      ipProto: 'tcp',
      srcPort: 80,
      dstPort: 40000,
      segment: 'answer',
    };
    expect(send(p, reply, ct)).to.equal('pass');
    expect(send(p, { device: 'rep3', ...SYN, segment: 'later' }, ct)).to.equal('pass');
  });

  it('the reverse direction: a pod of the other network isolated for ingress', () => {
    const toD: Packet = { ...SYN, device: 'rep2', srcIp: '10.0.0.2', dstIp: '10.1.0.4' };
    // The sender's network has no isolated pod here: its representor is programmed all the same.
    expect(send(compileW1([DENY_D]), toD)).to.equal('drop');
    expect(send(compileW1([DENY_D, DENY_B]), toD)).to.equal('drop');
    // And without it, the sender's network needs no filters at all.
    const open = compileW1([D_EGRESS_ALL]);
    expect(open.devices.find((d) => d.device === 'rep2')?.chains ?? []).to.deep.equal([]);
  });
});
