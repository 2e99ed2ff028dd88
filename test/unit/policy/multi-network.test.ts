// Multi-network semantics: a policy only touches the networks its policy-for names, and only
// interfaces of managed plugin types on live pods are enforced.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import { ALL_PODS, ip4, itf, mnp, NET, nsLabel, PLUGIN, podInfo, world } from './fixtures.js';
import { ALL_ALLOWED, expectGrid, model } from './matrix.js';

const OTHER = 'default/other';
const MACVLAN = 'default/mac';
/** 10.1.n.p on default/other, 10.2.n.p on default/mac. */
const ipOn = (prefix: string) => (pod: string) => ip4(pod).replace(/^10\.0\./, `${prefix}.`);

/** Every standard pod has net1 on default/accel, net2 on default/other and net3 on default/mac. */
const threeNetworks = {
  interfaces: Object.fromEntries(
    ALL_PODS.map((p) => [
      p,
      [
        itf(NET, 'net1', [ip4(p)]),
        itf(OTHER, 'net2', [ipOn('10.1')(p)]),
        itf(MACVLAN, 'net3', [ipOn('10.2')(p)]),
      ],
    ]),
  ),
  extraNetworks: [
    { key: OTHER, pluginType: PLUGIN },
    { key: MACVLAN, pluginType: 'macvlan' },
  ],
};

const X_INGRESS_DENIED = `
  x/a -XX ... ...
  x/b X-X ... ...
  x/c XX- ... ...
  y/a XXX -.. ...
  y/b XXX .-. ...
  y/c XXX ..- ...
  z/a XXX ... -..
  z/b XXX ... .-.
  z/c XXX ... ..-
`;

const TCP80_ACCEL = { protocol: 'TCP', port: 80 } as const;
const TCP80_OTHER = { protocol: 'TCP', port: 80, network: OTHER, ipOf: ipOn('10.1') } as const;
const TCP80_MAC = { protocol: 'TCP', port: 80, network: MACVLAN, ipOf: ipOn('10.2') } as const;

const denyX = (policyFor: string | null) =>
  mnp('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }, policyFor);

describe('multi-network semantics', () => {
  it('a policy for network A never touches network B of the same pods', () => {
    const mdl = model(world([denyX(NET)], threeNetworks));
    expectGrid(mdl, TCP80_ACCEL, X_INGRESS_DENIED);
    expectGrid(mdl, TCP80_OTHER, ALL_ALLOWED);
    const xa = mdl.byKey.get(`x/a/${OTHER}/net2`);
    expect(xa?.ingress).to.deep.equal({ isolated: false, rules: [], policies: [] });
  });

  it('a multi-entry policy-for applies to every listed network (bare names get the policy namespace)', () => {
    const both = model(world([denyX(` ${NET} ,, default/other `)], threeNetworks));
    expectGrid(both, TCP80_ACCEL, X_INGRESS_DENIED);
    expectGrid(both, TCP80_OTHER, X_INGRESS_DENIED);
    // "accel" in namespace x means x/accel, which is not default/accel.
    const bare = model(world([denyX('accel')], threeNetworks));
    expect(bare.policies[0]?.networks).to.deep.equal(['x/accel']);
    expectGrid(bare, TCP80_ACCEL, ALL_ALLOWED);
  });

  it('a policy without policy-for is a no-op, with a warning', () => {
    const mdl = model(world([denyX(null)], threeNetworks));
    expectGrid(mdl, TCP80_ACCEL, ALL_ALLOWED);
    expectGrid(mdl, TCP80_OTHER, ALL_ALLOWED);
    expect(mdl.problems.map((p) => p.severity + ' ' + p.object + ' ' + p.effect)).to.deep.equal([
      'warning MultiNetworkPolicy x/deny the policy applies to no network',
    ]);
  });

  it('interfaces of an unmanaged plugin type are never isolated', () => {
    const mdl = model(world([denyX(MACVLAN)], threeNetworks));
    expect(mdl.interfaces.some((i) => i.network === MACVLAN)).to.equal(false);
    expect(mdl.byIp.has(MACVLAN)).to.equal(false);
    expectGrid(mdl, TCP80_MAC, ALL_ALLOWED);
    // ... unless the plugin type is configured.
    const managed = model(world([denyX(MACVLAN)], threeNetworks), [PLUGIN, 'macvlan']);
    expectGrid(managed, TCP80_MAC, X_INGRESS_DENIED);
  });

  it('a network missing from the snapshot, or with an unreadable plugin type, is not managed', () => {
    const snap = world([], { extraNetworks: [{ key: OTHER }] });
    snap.pods.push(
      podInfo({
        namespace: 'x',
        name: 'd',
        interfaces: [itf(OTHER, 'net1', ['10.9.0.1']), itf('default/gone', 'net2', ['10.9.0.2'])],
      }),
    );
    expect(model(snap).interfaces.filter((i) => i.pod === 'x/d')).to.deep.equal([]);
  });

  it('selector peers only contribute addresses on the same network', () => {
    // y/d is attached to default/other only; the policy on default/accel must not list it.
    const yd = podInfo({ namespace: 'y', name: 'd', interfaces: [itf(OTHER, 'net1', ['10.1.2.4'])] });
    const policy = mnp('x', 'from-y', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ namespaceSelector: nsLabel('y') }] }],
    });
    const mdl = model(
      world([policy], { extraPods: [yd], extraNetworks: [{ key: OTHER, pluginType: PLUGIN }] }),
    );
    const rule = mdl.byKey.get(`x/a/${NET}/net1`)?.ingress.rules[0];
    expect(rule?.peers).to.deep.equal({
      kind: 'blocks',
      blocks: [
        '10.0.2.1/32',
        '10.0.2.2/32',
        '10.0.2.3/32',
        'fd00::2:1/128',
        'fd00::2:2/128',
        'fd00::2:3/128',
      ].map((cidr) => ({ cidr, except: [] })),
    });
    expect(mdl.byKey.get(`y/d/${OTHER}/net1`)?.ingress.isolated).to.equal(false);
  });

  it('peers on other nodes are included', () => {
    const remote = podInfo({
      namespace: 'y',
      name: 'r',
      nodeName: 'worker-2',
      interfaces: [itf(NET, 'net1', ['10.0.2.9'])],
    });
    const policy = mnp('x', 'from-y', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: nsLabel('y') }] }],
    });
    const mdl = model(world([policy], { extraPods: [remote] }));
    const v = verdict(mdl, { network: NET, srcIp: '10.0.2.9', dstIp: '10.0.1.1', protocol: 'TCP', port: 80 });
    expect(v.verdict).to.equal('allow');
  });

  describe('pod lifecycle', () => {
    const extra = [
      podInfo({
        namespace: 'x',
        name: 'host',
        hostNetwork: true,
        interfaces: [itf(NET, 'net1', ['10.0.1.10'])],
      }),
      podInfo({
        namespace: 'x',
        name: 'done',
        phase: 'Succeeded',
        interfaces: [itf(NET, 'net1', ['10.0.1.11'])],
      }),
      podInfo({
        namespace: 'x',
        name: 'failed',
        phase: 'Failed',
        interfaces: [itf(NET, 'net1', ['10.0.1.12'])],
      }),
      podInfo({
        namespace: 'x',
        name: 'starting',
        phase: 'Pending',
        interfaces: [itf(NET, 'net1', ['10.0.1.13'])],
      }),
      podInfo({ namespace: 'x', name: 'nostatus', phase: 'Pending', interfaces: [] }),
    ];
    const mdl = model(world([denyX(NET)], { extraPods: extra }));
    const flowTo = (dstIp: string) =>
      verdict(mdl, { network: NET, srcIp: '10.0.2.1', dstIp, protocol: 'TCP', port: 80 }).verdict;

    it('hostNetwork, Succeeded and Failed pods are not managed', () => {
      const managed = mdl.interfaces.map((i) => i.pod).filter((p) => p.startsWith('x/') && p.length > 3);
      expect(managed).to.deep.equal(['x/starting']);
      expect(flowTo('10.0.1.10')).to.equal('allow');
      expect(flowTo('10.0.1.11')).to.equal('allow');
      expect(flowTo('10.0.1.12')).to.equal('allow');
    });

    it('a Pending pod whose network-status lists the interface is isolated', () => {
      expect(flowTo('10.0.1.13')).to.equal('deny');
      expect(mdl.byKey.get(`x/starting/${NET}/net1`)?.ingress.policies).to.deep.equal(['x/deny']);
    });

    it('dead pods are not peers either', () => {
      const policy = mnp('y', 'from-x', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: nsLabel('x') }] }],
      });
      const m2 = model(world([policy], { extraPods: extra }));
      const blocks = m2.byKey.get(`y/a/${NET}/net1`)?.ingress.rules[0]?.peers;
      const cidrs = blocks?.kind === 'blocks' ? blocks.blocks.map((b) => b.cidr) : [];
      expect(cidrs.filter((c) => c.startsWith('10.'))).to.deep.equal([
        '10.0.1.1/32',
        '10.0.1.2/32',
        '10.0.1.3/32',
        '10.0.1.13/32',
      ]);
    });
  });
});
