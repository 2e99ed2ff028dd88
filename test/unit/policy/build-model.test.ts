import { expect } from 'chai';
import { describe, it } from 'mocha';
import type { Problem } from '../../../src/cluster/problem.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { ip4, itf, mnp, NET, PLUGIN, podInfo, world } from './fixtures.js';

const build = (snap: ReturnType<typeof world>) => buildPolicyModel(snap, { networkPlugins: [PLUGIN] });

describe('buildPolicyModel', () => {
  it('keys interfaces ns/pod/netns/netname/ifname, sorted, with indexes by key and by IP', () => {
    const mdl = build(world([]));
    expect(mdl.interfaces.map((i) => i.key).slice(0, 3)).to.deep.equal([
      'x/a/default/accel/net1',
      'x/b/default/accel/net1',
      'x/c/default/accel/net1',
    ]);
    expect(mdl.interfaces).to.have.length(9);
    const xa = mdl.byKey.get('x/a/default/accel/net1');
    expect(xa?.pod).to.equal('x/a');
    expect(xa?.ips).to.deep.equal(['10.0.1.1', 'fd00::1:1']);
    expect(mdl.byIp.get(NET)?.get('fd00::1:1')).to.equal(xa);
    expect(xa?.ingress).to.deep.equal({ isolated: false, rules: [], policies: [] });
  });

  it('canonicalises addresses and reports unreadable or duplicated ones', () => {
    const snap = world([], {
      interfaces: {
        'x/a': [itf(NET, 'net1', ['FD00:0::1:1', 'not-an-ip'])],
        'x/b': [itf(NET, 'net1', ['10.0.2.2'])],
      },
    });
    const mdl = build(snap);
    expect(mdl.byKey.get('x/a/default/accel/net1')?.ips).to.deep.equal(['fd00::1:1']);
    // y/b also has 10.0.2.2; x/b comes first in key order and keeps it.
    expect(mdl.byIp.get(NET)?.get('10.0.2.2')?.pod).to.equal('x/b');
    expect(mdl.problems.map((p) => `${p.object}: ${p.message}`)).to.deep.equal([
      'Pod x/a: address "not-an-ip" of net1 is not a valid IP',
      'Pod y/b: address 10.0.2.2 on network default/accel is also used by x/b/default/accel/net1',
    ]);
  });

  it('keeps snapshot problems first, then policy problems', () => {
    const snapProblem: Problem = {
      severity: 'error',
      object: 'Pod x/q',
      path: '',
      message: 'm',
      effect: 'e',
    };
    const snap = world([mnp('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] })]);
    snap.problems.push(snapProblem);
    const mdl = build(snap);
    expect(mdl.problems[0]).to.equal(snapProblem);
    expect(mdl.problems.slice(1).map((p) => p.path)).to.deep.equal([
      'spec.ingress[0].ports[0].port',
      'spec.ingress[0].ports',
    ]);
    expect(snap.problems).to.have.length(1);
  });

  // A policy-for that names no defined network isolates nothing: a typo ("accel-nett") or a
  // deleted NAD would silently drop a default deny. It is legal, so a warning, not a change.
  it('warns about policy-for networks that no NetworkAttachmentDefinition defines', () => {
    const deny = { podSelector: {}, policyTypes: ['Ingress'] };
    const mdl = build(world([mnp('x', 'typo', deny, 'accel-nett, accel'), mnp('x', 'ok', deny)]));
    expect(mdl.problems.map((p) => `${p.severity} ${p.object}: ${p.message}`)).to.deep.equal([
      'warning MultiNetworkPolicy x/typo: names network x/accel, which no NetworkAttachmentDefinition defines',
      'warning MultiNetworkPolicy x/typo: names network x/accel-nett, which no NetworkAttachmentDefinition defines',
    ]);
    expect(mdl.byKey.get('x/a/default/accel/net1')?.ingress.isolated).to.equal(true);
  });

  it('orders selecting policies by name and rules by policy then index', () => {
    const p = (name: string) =>
      mnp('x', name, { podSelector: {}, ingress: [{ ports: [{ port: 1 }] }, { ports: [{ port: 2 }] }] });
    const mdl = build(world([p('zeta'), p('alpha')]));
    const ingress = mdl.byKey.get('x/a/default/accel/net1')?.ingress;
    expect(ingress?.policies).to.deep.equal(['x/alpha', 'x/zeta']);
    expect(ingress?.rules.map((r) => `${r.origin.policy}#${r.origin.index}`)).to.deep.equal([
      'x/alpha#0',
      'x/alpha#1',
      'x/zeta#0',
      'x/zeta#1',
    ]);
    expect(mdl.policies.map((q) => q.name)).to.deep.equal(['alpha', 'zeta']);
  });

  it('policies only select pods of their own namespace', () => {
    const mdl = build(world([mnp('x', 'deny', { podSelector: {} })]));
    expect(mdl.interfaces.filter((i) => i.ingress.isolated).map((i) => i.pod)).to.deep.equal([
      'x/a',
      'x/b',
      'x/c',
    ]);
  });

  it('resolves peers: ipBlocks as given, pod peers as single-address blocks', () => {
    const policy = mnp('x', 'p', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          from: [
            { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } },
            { podSelector: { matchLabels: { pod: 'b' } } },
            { podSelector: { matchLabels: { pod: 'b' } } },
          ],
        },
      ],
    });
    const rule = build(world([policy])).byKey.get('x/a/default/accel/net1')?.ingress.rules[0];
    expect(rule?.peers).to.deep.equal({
      kind: 'blocks',
      blocks: [
        { cidr: '10.0.1.2/32', except: [] },
        { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] },
        { cidr: 'fd00::1:2/128', except: [] },
      ],
    });
    expect(rule?.ports).to.deep.equal({ kind: 'all' });
  });

  it('knows kubernetes.io/metadata.name, and an unknown namespace matches no namespaceSelector', () => {
    const stray = podInfo({ namespace: 'w', name: 'a', interfaces: [itf(NET, 'net1', ['10.0.9.1'])] });
    const policy = (ns: string, from: unknown[]) => mnp(ns, 'p', { podSelector: {}, ingress: [{ from }] });
    const cidrsOf = (mdl: ReturnType<typeof build>, key: string) => {
      const peers = mdl.byKey.get(key)?.ingress.rules[0]?.peers;
      return peers?.kind === 'blocks' ? peers.blocks.map((b) => b.cidr).filter((c) => !c.includes(':')) : [];
    };
    const byName = build(
      world([policy('x', [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }])], {
        extraPods: [stray],
      }),
    );
    expect(cidrsOf(byName, 'x/a/default/accel/net1')).to.deep.equal(
      ['y/a', 'y/b', 'y/c'].map((p) => `${ip4(p)}/32`),
    );
    const everyNs = build(world([policy('x', [{ namespaceSelector: {} }])], { extraPods: [stray] }));
    expect(cidrsOf(everyNs, 'x/a/default/accel/net1')).to.not.include('10.0.9.1/32');
    expect(cidrsOf(everyNs, 'x/a/default/accel/net1')).to.have.length(9);
    // A podSelector-only peer needs no namespace labels.
    const sameNs = build(world([policy('w', [{ podSelector: {} }])], { extraPods: [stray] }));
    expect(cidrsOf(sameNs, 'w/a/default/accel/net1')).to.deep.equal(['10.0.9.1/32']);
  });

  it('is deterministic: input order does not matter', () => {
    const policies = [
      mnp('x', 'b', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      mnp('x', 'a', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }),
    ];
    const one = world(policies);
    const two = world([...policies].reverse());
    two.pods.reverse();
    const view = (m: ReturnType<typeof build>) =>
      JSON.stringify({ i: m.interfaces.map((i) => ({ ...i, podInfo: undefined })), p: m.policies });
    expect(view(build(two))).to.equal(view(build(one)));
  });
});
