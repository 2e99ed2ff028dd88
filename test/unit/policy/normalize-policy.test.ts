import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import type { MultiNetworkPolicy } from '../../../src/cluster/objects.js';
import type { Problem } from '../../../src/cluster/problem.js';
import { normalizePolicy } from '../../../src/policy/normalize-policy.js';
import { parsePolicyFor } from '../../../src/policy/policy-for.js';
import { mnp } from './fixtures.js';

const OBJECT = 'MultiNetworkPolicy x/p';
const PORT_EFFECT = 'this port entry allows nothing';
const PEER_EFFECT = 'this peer allows nothing';
const RULE_EFFECT = 'this rule allows nothing';

const norm = (spec: Record<string, unknown>, policyFor: string | null = 'default/accel') =>
  normalizePolicy(mnp('x', 'p', spec, policyFor));

/** "severity path: effect" lines, for compact assertions. */
const summary = (problems: Problem[]) => problems.map((p) => `${p.severity} ${p.path}: ${p.effect}`);

/** Normalises one ingress rule and returns it with the problems. */
function ingressRule(rule: Record<string, unknown>) {
  const { policy, problems } = norm({ podSelector: {}, ingress: [rule] });
  for (const p of problems) expect(p.object).to.equal(OBJECT);
  return { rule: policy.ingressRules[0], problems };
}

describe('normalizePolicy', () => {
  it('normalises a valid policy without problems', () => {
    const { policy, problems } = norm({
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: 'web' } } },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.2.0.0/16', '10.1.0.0/16'] } },
          ],
          ports: [
            { port: 5432 },
            { protocol: 'UDP', port: 53, endPort: 54 },
            { protocol: 'SCTP' },
            { port: 'pg' },
          ],
        },
      ],
      egress: [{}],
    });
    expect(problems).to.deep.equal([]);
    expect(policy).to.deep.equal({
      namespace: 'x',
      name: 'p',
      networks: ['default/accel'],
      podSelector: { matchLabels: { app: 'db' }, matchExpressions: [] },
      selectorInvalid: false,
      ingress: true,
      egress: true,
      ingressRules: [
        {
          origin: { policy: 'x/p', direction: 'ingress', index: 0 },
          peers: {
            kind: 'list',
            peers: [
              { kind: 'selector', podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] } },
              { kind: 'ipBlock', cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] },
            ],
          },
          ports: {
            kind: 'list',
            entries: [
              { kind: 'range', protocol: 'TCP', port: 5432, endPort: 5432 },
              { kind: 'range', protocol: 'UDP', port: 53, endPort: 54 },
              { kind: 'protocol', protocol: 'SCTP' },
              { kind: 'named', protocol: 'TCP', name: 'pg' },
            ],
          },
        },
      ],
      egressRules: [
        {
          origin: { policy: 'x/p', direction: 'egress', index: 0 },
          peers: { kind: 'all' },
          ports: { kind: 'all' },
        },
      ],
    });
  });

  it('absent, null or empty ports/from mean "all"', () => {
    for (const rule of [{}, { ports: [], from: [] }, { ports: null, from: null }]) {
      const { rule: r, problems } = ingressRule(rule);
      expect(problems).to.deep.equal([]);
      expect(r?.ports).to.deep.equal({ kind: 'all' });
      expect(r?.peers).to.deep.equal({ kind: 'all' });
    }
  });

  describe('ports fail closed', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['port 0', { port: 0 }, 'spec.ingress[0].ports[0].port'],
      ['port 65536', { port: 65536 }, 'spec.ingress[0].ports[0].port'],
      ['fractional port', { port: 80.5 }, 'spec.ingress[0].ports[0].port'],
      ['port of another type', { port: true }, 'spec.ingress[0].ports[0].port'],
      ['endPort below port', { port: 81, endPort: 80 }, 'spec.ingress[0].ports[0].endPort'],
      ['endPort above 65535', { port: 80, endPort: 70000 }, 'spec.ingress[0].ports[0].endPort'],
      ['endPort as a string', { port: 80, endPort: '81' }, 'spec.ingress[0].ports[0].endPort'],
      ['endPort without port', { endPort: 81 }, 'spec.ingress[0].ports[0].endPort'],
      ['endPort with a named port', { port: 'web', endPort: 81 }, 'spec.ingress[0].ports[0].endPort'],
      ['lower-case protocol', { protocol: 'tcp', port: 80 }, 'spec.ingress[0].ports[0].protocol'],
      ['unknown protocol', { protocol: 'ICMP' }, 'spec.ingress[0].ports[0].protocol'],
      ['quoted number', { port: '80' }, 'spec.ingress[0].ports[0].port'],
      ['named port with upper case', { port: 'Web' }, 'spec.ingress[0].ports[0].port'],
      ['named port too long', { port: 'a'.repeat(16) }, 'spec.ingress[0].ports[0].port'],
      ['named port with leading dash', { port: '-web' }, 'spec.ingress[0].ports[0].port'],
      ['named port with double dash', { port: 'we--b' }, 'spec.ingress[0].ports[0].port'],
      ['named port with trailing dash', { port: 'web-' }, 'spec.ingress[0].ports[0].port'],
      ['entry not an object', 80 as unknown as Record<string, unknown>, 'spec.ingress[0].ports[0]'],
    ];
    for (const [title, entry, path] of cases) {
      it(`${title}: the entry allows nothing, and a rule left with no entry allows nothing`, () => {
        const { rule, problems } = ingressRule({ ports: [entry] });
        expect(rule?.ports).to.deep.equal({
          kind: 'list',
          entries: [],
          fixed: { all: false, TCP: [], UDP: [], SCTP: [] },
        });
        expect(summary(problems)).to.include(`error ${path}: ${PORT_EFFECT}`);
        expect(summary(problems)).to.include(`error spec.ingress[0].ports: ${RULE_EFFECT}`);
      });
    }

    it('an invalid entry does not affect the valid ones', () => {
      const { rule, problems } = ingressRule({ ports: [{ port: 0 }, { port: 81, protocol: 'UDP' }] });
      expect(rule?.ports).to.deep.equal({
        kind: 'list',
        entries: [{ kind: 'range', protocol: 'UDP', port: 81, endPort: 81 }],
        fixed: { all: false, TCP: [], UDP: [[81, 81]], SCTP: [] },
      });
      expect(summary(problems)).to.deep.equal([`error spec.ingress[0].ports[0].port: ${PORT_EFFECT}`]);
    });

    it('accepts endPort equal to port and protocol-only entries', () => {
      const { rule, problems } = ingressRule({
        ports: [
          { port: 80, endPort: 80 },
          { protocol: 'UDP', port: null },
        ],
      });
      expect(problems).to.deep.equal([]);
      expect(rule?.ports).to.deep.equal({
        kind: 'list',
        entries: [
          { kind: 'range', protocol: 'TCP', port: 80, endPort: 80 },
          { kind: 'protocol', protocol: 'UDP' },
        ],
        // Without named ports, resolved once: the same set for every destination.
        fixed: { all: false, TCP: [[80, 80]], UDP: [[0, 65535]], SCTP: [] },
      });
    });

    it('ports that is not a list allows nothing', () => {
      const { rule, problems } = ingressRule({ ports: { port: 80 } });
      expect(rule?.ports).to.deep.equal({
        kind: 'list',
        entries: [],
        fixed: { all: false, TCP: [], UDP: [], SCTP: [] },
      });
      expect(summary(problems)).to.deep.equal([`error spec.ingress[0].ports: ${RULE_EFFECT}`]);
    });
  });

  describe('peers fail closed', () => {
    const cases: [string, unknown, string][] = [
      ['invalid cidr', { ipBlock: { cidr: '10.0.0.300/8' } }, 'spec.ingress[0].from[0].ipBlock.cidr'],
      ['missing cidr', { ipBlock: {} }, 'spec.ingress[0].from[0].ipBlock.cidr'],
      ['bare address', { ipBlock: { cidr: '10.0.0.1' } }, 'spec.ingress[0].from[0].ipBlock.cidr'],
      // Leading zeros are octal to some readers: refused, never guessed.
      [
        'leading zero in an octet',
        { ipBlock: { cidr: '010.0.0.0/8' } },
        'spec.ingress[0].from[0].ipBlock.cidr',
      ],
      [
        'leading zero in the length',
        { ipBlock: { cidr: '10.0.0.0/08' } },
        'spec.ingress[0].from[0].ipBlock.cidr',
      ],
      [
        'leading zero in an except',
        { ipBlock: { cidr: '10.0.0.0/8', except: ['10.010.0.0/16'] } },
        'spec.ingress[0].from[0].ipBlock.except[0]',
      ],
      ['zone id', { ipBlock: { cidr: 'fe80::%eth0/64' } }, 'spec.ingress[0].from[0].ipBlock.cidr'],
      ['whitespace', { ipBlock: { cidr: '10.0.0.0/8 ' } }, 'spec.ingress[0].from[0].ipBlock.cidr'],
      [
        'except outside cidr',
        { ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } },
        'spec.ingress[0].from[0].ipBlock.except[0]',
      ],
      [
        'except equal to cidr',
        { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } },
        'spec.ingress[0].from[0].ipBlock.except[0]',
      ],
      [
        'except wider than cidr',
        { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/8'] } },
        'spec.ingress[0].from[0].ipBlock.except[0]',
      ],
      [
        'except of the other family',
        { ipBlock: { cidr: '10.0.0.0/8', except: ['fd00::/64'] } },
        'spec.ingress[0].from[0].ipBlock.except[0]',
      ],
      [
        'invalid except',
        { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0'] } },
        'spec.ingress[0].from[0].ipBlock.except[0]',
      ],
      [
        'except not a list',
        { ipBlock: { cidr: '10.0.0.0/8', except: '10.1.0.0/16' } },
        'spec.ingress[0].from[0].ipBlock.except',
      ],
      [
        'ipBlock with podSelector',
        { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} },
        'spec.ingress[0].from[0]',
      ],
      [
        'ipBlock with namespaceSelector',
        { ipBlock: { cidr: '10.0.0.0/8' }, namespaceSelector: {} },
        'spec.ingress[0].from[0]',
      ],
      ['empty peer', {}, 'spec.ingress[0].from[0]'],
      ['peer of nulls', { podSelector: null, ipBlock: null }, 'spec.ingress[0].from[0]'],
      ['peer not an object', 'x', 'spec.ingress[0].from[0]'],
      [
        'invalid podSelector',
        { podSelector: { matchLabels: { 'a b': 'x' } } },
        'spec.ingress[0].from[0].podSelector.matchLabels["a b"]',
      ],
      [
        'invalid namespaceSelector',
        {
          podSelector: {},
          namespaceSelector: { matchExpressions: [{ key: 'k', operator: 'Exists', values: ['v'] }] },
        },
        'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values',
      ],
    ];
    for (const [title, peer, path] of cases) {
      it(`${title}: the peer allows nothing, and a rule left with no peer allows nothing`, () => {
        const { rule, problems } = ingressRule({ from: [peer] });
        expect(rule?.peers).to.deep.equal({ kind: 'list', peers: [] });
        expect(summary(problems)).to.include(`error ${path}: ${PEER_EFFECT}`);
        expect(summary(problems)).to.include(`error spec.ingress[0].from: ${RULE_EFFECT}`);
      });
    }

    it('an invalid peer does not affect the valid ones', () => {
      const { rule, problems } = ingressRule({
        from: [{}, { ipBlock: { cidr: 'fd00::/64', except: ['fd00::1:0/112'] } }],
      });
      expect(rule?.peers).to.deep.equal({
        kind: 'list',
        peers: [{ kind: 'ipBlock', cidr: 'fd00::/64', except: ['fd00::1:0/112'] }],
      });
      expect(summary(problems)).to.deep.equal([`error spec.ingress[0].from[0]: ${PEER_EFFECT}`]);
    });

    it('host bits are cleared with a warning', () => {
      const { rule, problems } = ingressRule({
        from: [{ ipBlock: { cidr: '10.0.0.5/16', except: ['10.0.1.1/24'] } }],
      });
      expect(rule?.peers).to.deep.equal({
        kind: 'list',
        peers: [{ kind: 'ipBlock', cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] }],
      });
      expect(summary(problems)).to.deep.equal([
        'warning spec.ingress[0].from[0].ipBlock.cidr: it is used as 10.0.0.0/16',
        'warning spec.ingress[0].from[0].ipBlock.except[0]: it is used as 10.0.1.0/24',
      ]);
    });

    it('egress peers are read from `to`', () => {
      const { policy, problems } = norm({ podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{}] }] });
      expect(policy.egressRules[0]?.peers).to.deep.equal({ kind: 'list', peers: [] });
      expect(summary(problems)).to.include(`error spec.egress[0].to[0]: ${PEER_EFFECT}`);
    });
  });

  describe('the policy podSelector fails closed', () => {
    const closed = 'the policy selects every pod in namespace x and allows nothing';
    for (const [title, spec, path] of [
      [
        'invalid operator',
        {
          podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] },
          ingress: [{}],
        },
        'spec.podSelector.matchExpressions[0].operator',
      ],
      ['missing podSelector', { ingress: [{}], egress: [{}] }, 'spec.podSelector'],
      ['podSelector not an object', { podSelector: 'app=db', ingress: [{}] }, 'spec.podSelector'],
    ] as [string, Record<string, unknown>, string][]) {
      it(title, () => {
        const { policy, problems } = norm(spec);
        expect(policy.selectorInvalid).to.equal(true);
        expect(policy.podSelector).to.deep.equal({ matchLabels: {}, matchExpressions: [] });
        expect(policy.ingressRules).to.deep.equal([]);
        expect(policy.egressRules).to.deep.equal([]);
        expect(policy.ingress).to.equal(true);
        expect(summary(problems)).to.include(`error ${path}: ${closed}`);
      });
    }

    it('a spec that is not an object', () => {
      const { policy, problems } = normalizePolicy({
        ...mnp('x', 'p', {}),
        spec: 7,
      } as unknown as MultiNetworkPolicy);
      expect(policy.selectorInvalid).to.equal(true);
      expect(policy.ingress).to.equal(true);
      expect(summary(problems)).to.include(`error spec: ${closed}`);
    });

    it('rules of such a policy are still checked', () => {
      const { problems } = norm({ podSelector: 'bad', ingress: [{ ports: [{ port: 0 }] }] });
      expect(summary(problems)).to.include(`error spec.ingress[0].ports[0].port: ${PORT_EFFECT}`);
    });
  });

  describe('effective policyTypes', () => {
    const types = (spec: Record<string, unknown>) => {
      const { policy } = norm({ podSelector: {}, ...spec });
      return `${policy.ingress ? 'I' : '-'}${policy.egress ? 'E' : '-'}`;
    };
    it('defaults like NetworkPolicy when absent or empty', () => {
      expect(types({})).to.equal('I-');
      expect(types({ ingress: [{}] })).to.equal('I-');
      expect(types({ egress: [{}] })).to.equal('IE');
      expect(types({ egress: null })).to.equal('I-');
    });
    it('adds Egress only for a non-empty egress list (SetDefaults_NetworkPolicy)', () => {
      expect(types({ egress: [] })).to.equal('I-');
      expect(types({ ingress: [{}], egress: [] })).to.equal('I-');
      expect(types({ policyTypes: [], egress: [] })).to.equal('I-');
      // Written out, the type still isolates with an empty list: every egress is denied.
      expect(types({ policyTypes: ['Ingress', 'Egress'], egress: [] })).to.equal('IE');
      // A list that cannot be read isolates: its rules allow nothing, and nothing more is allowed.
      expect(types({ egress: 'all' })).to.equal('IE');
      expect(types({ policyTypes: [], egress: [{}] })).to.equal('IE');
      expect(types({ policyTypes: null })).to.equal('I-');
    });
    it('uses the given types, case-insensitively', () => {
      expect(types({ policyTypes: ['Egress'], ingress: [{}] })).to.equal('-E');
      expect(types({ policyTypes: ['Ingress'], egress: [{}] })).to.equal('I-');
      expect(types({ policyTypes: ['ingress', 'EGRESS'] })).to.equal('IE');
    });
    it('isolates both directions for an unknown value, also beside a valid one (it may have meant the other)', () => {
      const { policy, problems } = norm({ podSelector: {}, policyTypes: ['Egress', 'Sideways'] });
      expect([policy.ingress, policy.egress]).to.deep.equal([true, true]);
      expect(summary(problems)).to.deep.equal([
        'error spec.policyTypes[1]: the policy isolates both ingress and egress',
      ]);
      expect(types({ policyTypes: ['Ingress', 'Ingres'] })).to.equal('IE');
      expect(types({ policyTypes: ['Ingres'] })).to.equal('IE');
      expect(types({ policyTypes: 'Egress' })).to.equal('IE');
    });
  });

  describe('policy-for', () => {
    const parse = (value: unknown) =>
      parsePolicyFor({ annotations: { 'k8s.v1.cni.cncf.io/policy-for': value } }, 'x', OBJECT);
    it('splits on commas, ignores spaces and empty items, qualifies bare names', () => {
      expect(parse(' net-a ,other/net-b,, net-a,\tx/net-a ')).to.deep.equal({
        networks: ['other/net-b', 'x/net-a'],
        problems: [],
      });
    });
    it('reports and ignores malformed items', () => {
      const { networks, problems } = parse('a/b/c, /b, a/, ok');
      expect(networks).to.deep.equal(['x/ok']);
      expect(problems.map((p) => p.message)).to.deep.equal([
        'item "a/b/c" is not "name" or "namespace/name"',
        'item "/b" is not "name" or "namespace/name"',
        'item "a/" is not "name" or "namespace/name"',
      ]);
      expect(
        problems.every((p) => p.effect === 'this item is ignored (the policy does not apply to it)'),
      ).to.equal(true);
    });
    it('no annotation, an empty one or a non-string one: applies to no network', () => {
      expect(parsePolicyFor({}, 'x', OBJECT).networks).to.deep.equal([]);
      expect(parsePolicyFor({}, 'x', OBJECT).problems[0]?.severity).to.equal('warning');
      expect(parse(' , ').networks).to.deep.equal([]);
      expect(parse(' , ').problems).to.have.length(1);
      expect(parse(42).problems[0]?.severity).to.equal('error');
      const { policy, problems } = norm({ podSelector: {} }, null);
      expect(policy.networks).to.deep.equal([]);
      expect(summary(problems)).to.deep.equal([
        'warning metadata.annotations["k8s.v1.cni.cncf.io/policy-for"]: the policy applies to no network',
      ]);
    });
  });

  it('problems name the object, the path, the reason and the effect', () => {
    const { problems } = norm({ podSelector: {}, ingress: [{ ports: [{ port: 1, endPort: 0 }] }] });
    expect(problems[0]).to.deep.equal({
      severity: 'error',
      object: OBJECT,
      path: 'spec.ingress[0].ports[0].endPort',
      message: 'endPort 0 must be an integer from 1 to 65535',
      effect: PORT_EFFECT,
    });
  });

  it('a rule or rule list that is not an object/list allows nothing', () => {
    const { policy, problems } = norm({ podSelector: {}, ingress: [null, {}], egress: 'all' });
    expect(policy.ingressRules.map((r) => r.origin.index)).to.deep.equal([1]);
    expect(policy.egress).to.equal(true);
    expect(policy.egressRules).to.deep.equal([]);
    expect(summary(problems)).to.deep.equal([
      `error spec.ingress[0]: ${RULE_EFFECT}`,
      'error spec.egress: no egress rule of this policy allows anything',
    ]);
  });

  it('never throws, whatever the input (property)', () => {
    const anyPort = fc.record(
      {
        protocol: fc.oneof(fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp'), fc.anything()),
        port: fc.anything(),
        endPort: fc.anything(),
      },
      { requiredKeys: [] },
    );
    const anyPeer = fc.record(
      {
        podSelector: fc.anything(),
        namespaceSelector: fc.anything(),
        ipBlock: fc.oneof(
          fc.record({ cidr: fc.oneof(fc.string(), fc.constant('10.0.0.0/8')), except: fc.anything() }),
          fc.anything(),
        ),
      },
      { requiredKeys: [] },
    );
    const anyRule = fc.oneof(
      fc.record(
        {
          ports: fc.oneof(fc.array(anyPort), fc.anything()),
          from: fc.oneof(fc.array(anyPeer), fc.anything()),
          to: fc.array(anyPeer),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    const anySpec = fc.oneof(
      fc.record(
        {
          podSelector: fc.anything(),
          policyTypes: fc.anything(),
          ingress: fc.oneof(fc.array(anyRule), fc.anything()),
          egress: fc.array(anyRule),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    const anyPolicy = fc.record(
      {
        metadata: fc.oneof(
          fc.record({ name: fc.anything(), namespace: fc.anything(), annotations: fc.anything() }),
          fc.anything(),
        ),
        spec: anySpec,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(anyPolicy, fc.anything()), (raw) => {
        const { policy, problems } = normalizePolicy(raw as MultiNetworkPolicy);
        expect(policy.namespace).to.be.a('string');
        for (const p of problems) {
          expect(p.object).to.match(/^MultiNetworkPolicy /);
          expect(p.effect).to.be.a('string').and.not.equal('');
        }
      }),
      { numRuns: 500 },
    );
  });
});
