// buildPolicyModel shares work between interfaces (label views, interned selectors and blocks,
// ranked block order, a fast path for canonical IPv4 text). These tests hold it to the plain
// definition: every interface's direction policies as if computed for that interface alone.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import {
  canonicalIp,
  compareCidr,
  formatCidr,
  hostCidr,
  parseCidr,
  parseAddress,
} from '../../../src/util/ip/index.js';
import { selectorMatches } from '../../../src/policy/selector.js';
import type {
  AddressBlock,
  DirectionPolicy,
  ManagedInterface,
  NormalizedPolicy,
  NormalizedRule,
  Peer,
  PolicyModel,
  ResolvedRule,
} from '../../../src/policy/types.js';
import { build, clusterArb } from '../tc/cluster-gen.js';
import { itf, mnp, NET, PLUGIN, world } from './fixtures.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The definition, one interface at a time: scan every interface for every selector peer. */
function referenceDirection(
  model: PolicyModel,
  snapshot: ClusterSnapshot,
  target: ManagedInterface,
  direction: 'ingress' | 'egress',
): DirectionPolicy {
  const nsLabels = (ns: string): Record<string, string> | undefined => {
    const labels = snapshot.namespaces.get(ns);
    return labels && { ...labels, 'kubernetes.io/metadata.name': ns };
  };
  const peerSelects = (peer: Extract<Peer, { kind: 'selector' }>, policyNs: string, i: ManagedInterface) => {
    if (peer.namespaceSelector) {
      const labels = nsLabels(i.podInfo.namespace);
      if (!labels || !selectorMatches(peer.namespaceSelector, labels)) return false;
    } else if (i.podInfo.namespace !== policyNs) {
      return false;
    }
    return !peer.podSelector || selectorMatches(peer.podSelector, i.podInfo.labels ?? {});
  };
  const resolve = (rule: NormalizedRule, policy: NormalizedPolicy): ResolvedRule => {
    if (rule.peers.kind === 'all') return { origin: rule.origin, peers: { kind: 'any' }, ports: rule.ports };
    const blocks: AddressBlock[] = [];
    for (const peer of rule.peers.peers) {
      if (peer.kind === 'ipBlock') {
        blocks.push({ cidr: peer.cidr, except: [...peer.except] });
        continue;
      }
      for (const i of model.interfaces) {
        if (i.network !== target.network || !peerSelects(peer, policy.namespace, i)) continue;
        for (const ip of i.ips) {
          const addr = parseAddress(ip);
          if (addr) blocks.push({ cidr: formatCidr(hostCidr(addr)), except: [] });
        }
      }
    }
    const unique = new Map(blocks.map((b) => [`${b.cidr}|${b.except.join(',')}`, b]));
    const sorted = [...unique.values()].sort(
      (x, y) =>
        compareCidr(parseCidr(x.cidr)!, parseCidr(y.cidr)!) ||
        compareText(x.except.join(','), y.except.join(',')),
    );
    return { origin: rule.origin, peers: { kind: 'blocks', blocks: sorted }, ports: rule.ports };
  };
  const pod = target.podInfo;
  const selecting = model.policies.filter(
    (p) =>
      p[direction] &&
      p.namespace === pod.namespace &&
      p.networks.includes(target.network) &&
      selectorMatches(p.podSelector, pod.labels ?? {}),
  );
  return {
    isolated: selecting.length > 0,
    rules: selecting.flatMap((p) =>
      (direction === 'ingress' ? p.ingressRules : p.egressRules).map((r) => resolve(r, p)),
    ),
    policies: [...new Set(selecting.map((p) => `${p.namespace}/${p.name}`))],
  };
}

function expectMatchesReference(model: PolicyModel, snapshot: ClusterSnapshot): void {
  for (const i of model.interfaces) {
    expect({ key: i.key, ingress: i.ingress, egress: i.egress }).to.deep.equal({
      key: i.key,
      ingress: referenceDirection(model, snapshot, i, 'ingress'),
      egress: referenceDirection(model, snapshot, i, 'egress'),
    });
  }
}

const buildWorld = (snap: ClusterSnapshot) => buildPolicyModel(snap, { networkPlugins: [PLUGIN] });

describe('buildPolicyModel against the per-interface definition', () => {
  it('random clusters: every interface gets exactly the direction policies of the definition', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const { snapshot, model } = build(c.objects);
        expectMatchesReference(model, snapshot);
      }),
      { seed: Number(process.env.PROPERTY_SEED ?? 11), numRuns: RUNS },
    );
  });

  it('pods differing only in labels no selector reads are alike; absent and empty values differ', () => {
    const snap = world(
      [
        mnp('x', 'no-tier', {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: '' } } }] }],
        }),
        // Same selector content as no-tier: both policies are listed, each with its own rules.
        mnp('x', 'no-tier-again', {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: '' } } }] }],
        }),
      ],
      {
        podLabels: {
          'x/a': { tier: '', hash: '1' },
          'x/b': { hash: '2' },
          'x/c': { hash: '3', constructor: 'x' },
        },
      },
    );
    const model = buildWorld(snap);
    expectMatchesReference(model, snap);
    const policiesOf = (pod: string) => model.byKey.get(`${pod}/default/accel/net1`)?.ingress.policies;
    expect(policiesOf('x/a')).to.deep.equal([]);
    expect(policiesOf('x/b')).to.deep.equal(['x/no-tier', 'x/no-tier-again']);
    expect(policiesOf('x/c')).to.deep.equal(['x/no-tier', 'x/no-tier-again']);
    const rules = model.byKey.get('x/b/default/accel/net1')?.ingress.rules ?? [];
    expect(
      rules.map((r) => (r.peers.kind === 'blocks' ? r.peers.blocks.map((b) => b.cidr) : [])),
    ).to.deep.equal([
      ['10.0.1.1/32', 'fd00::1:1/128'],
      ['10.0.1.1/32', 'fd00::1:1/128'],
    ]);
  });

  it('reads addresses as canonicalIp does, whatever their text', () => {
    const texts = [
      '10.0.1.1',
      '0.0.0.0',
      '255.255.255.255',
      '010.0.1.2',
      '10.0.1.03',
      '10.0.1.256',
      '10.0.1',
      '10.0.1.4.',
      '10.0.1.',
      '.10.0.1.5',
      '10..1.6',
      '1000.0.1.7',
      ' 10.0.1.8',
      '::ffff:10.0.1.9',
      'FD00:0::1:1',
      '',
    ];
    const snap = world(
      [
        mnp('y', 'from-x', {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } }] }],
        }),
      ],
      { interfaces: { 'x/a': [itf(NET, 'net1', texts)] } },
    );
    const model = buildWorld(snap);
    expectMatchesReference(model, snap);
    const canonical = [...new Set(texts.map((t) => canonicalIp(t)?.ip).filter((t) => t !== undefined))];
    expect(model.byKey.get('x/a/default/accel/net1')?.ips).to.deep.equal(canonical);
    const invalid = texts.filter((t) => canonicalIp(t) === undefined).map((t) => JSON.stringify(t));
    expect(model.problems.map((p) => p.message)).to.deep.equal(
      invalid.map((t) => `address ${t} of net1 is not a valid IP`),
    );
  });

  it('an ipBlock equal to a pod address is listed once', () => {
    const snap = world([
      mnp('x', 'p', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { ipBlock: { cidr: '10.0.1.2/32' } }] },
        ],
      }),
    ]);
    const model = buildWorld(snap);
    expectMatchesReference(model, snap);
    const rule = model.byKey.get('x/a/default/accel/net1')?.ingress.rules[0];
    expect(rule?.peers).to.deep.equal({
      kind: 'blocks',
      blocks: [
        { cidr: '10.0.1.2/32', except: [] },
        { cidr: 'fd00::1:2/128', except: [] },
      ],
    });
  });
});
