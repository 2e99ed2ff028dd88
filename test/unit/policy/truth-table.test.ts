// Reachability truth tables over the NetworkPolicy e2e topology (x, y, z × a, b, c), every policy
// for default/accel. Expected grids are written by hand: rows are sources, columns destinations.

import { describe, it } from 'mocha';
import { ALL_ALLOWED, expectGrid, model } from './matrix.js';
import { mnp, nsLabel, pods, world } from './fixtures.js';
import type { MultiNetworkPolicy } from '../../../src/cluster/objects.js';

const TCP80 = { protocol: 'TCP', port: 80 } as const;
const TCP81 = { protocol: 'TCP', port: 81 } as const;
const UDP80 = { protocol: 'UDP', port: 80 } as const;
const UDP81 = { protocol: 'UDP', port: 81 } as const;
const SCTP80 = { protocol: 'SCTP', port: 80 } as const;

const m = (...policies: MultiNetworkPolicy[]) => model(world(policies));

/** Ingress-only policy selecting x/a. */
const intoXa = (name: string, ingress: unknown[]) =>
  mnp('x', name, { podSelector: pods('a'), policyTypes: ['Ingress'], ingress });

const XA_DENIED = `
  x/a -.. ... ...
  x/b X-. ... ...
  x/c X.- ... ...
  y/a X.. -.. ...
  y/b X.. .-. ...
  y/c X.. ..- ...
  z/a X.. ... -..
  z/b X.. ... .-.
  z/c X.. ... ..-
`;

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

describe('policy truth tables (NetworkPolicy e2e topology)', () => {
  it('01 no policy: everything is allowed', () => {
    expectGrid(m(), TCP80, ALL_ALLOWED);
  });

  it('02 default-deny ingress in x', () => {
    const model = m(mnp('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }));
    expectGrid(model, TCP80, X_INGRESS_DENIED);
    expectGrid(model, UDP81, X_INGRESS_DENIED);
  });

  it('03 missing policyTypes and no rules defaults to ingress isolation only', () => {
    expectGrid(m(mnp('x', 'deny', { podSelector: {} })), TCP80, X_INGRESS_DENIED);
  });

  it('04 allow ingress from the same namespace', () => {
    const model = m(mnp('x', 'same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }));
    expectGrid(
      model,
      TCP80,
      `
      x/a -.. ... ...
      x/b .-. ... ...
      x/c ..- ... ...
      y/a XXX -.. ...
      y/b XXX .-. ...
      y/c XXX ..- ...
      z/a XXX ... -..
      z/b XXX ... .-.
      z/c XXX ... ..-
    `,
    );
  });

  it('05 allow into x/a from namespace y (namespaceSelector only)', () => {
    const model = m(intoXa('from-y', [{ from: [{ namespaceSelector: nsLabel('y') }] }]));
    expectGrid(
      model,
      TCP80,
      `
      x/a -.. ... ...
      x/b X-. ... ...
      x/c X.- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('06 namespaceSelector AND podSelector in one peer', () => {
    const model = m(intoXa('y-b', [{ from: [{ namespaceSelector: nsLabel('y'), podSelector: pods('b') }] }]));
    expectGrid(
      model,
      TCP80,
      `
      x/a -.. ... ...
      x/b X-. ... ...
      x/c X.- ... ...
      y/a X.. -.. ...
      y/b ... .-. ...
      y/c X.. ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('07 namespaceSelector OR podSelector in two peers', () => {
    const model = m(
      intoXa('y-or-b', [{ from: [{ namespaceSelector: nsLabel('y') }, { podSelector: pods('b') }] }]),
    );
    expectGrid(
      model,
      TCP80,
      `
      x/a -.. ... ...
      x/b .-. ... ...
      x/c X.- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('08 namespaceSelector {} with podSelector: that pod name in every namespace', () => {
    const model = m(intoXa('any-b', [{ from: [{ namespaceSelector: {}, podSelector: pods('b') }] }]));
    expectGrid(
      model,
      TCP80,
      `
      x/a -.. ... ...
      x/b .-. ... ...
      x/c X.- ... ...
      y/a X.. -.. ...
      y/b ... .-. ...
      y/c X.. ..- ...
      z/a X.. ... -..
      z/b ... ... .-.
      z/c X.. ... ..-
    `,
    );
    expectGrid(m(intoXa('any', [{ from: [{ namespaceSelector: {} }] }])), TCP80, ALL_ALLOWED);
  });

  it('09 matchExpressions In on kubernetes.io/metadata.name', () => {
    const sel = {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['y', 'z'] }],
    };
    expectGrid(
      m(intoXa('in-yz', [{ from: [{ namespaceSelector: sel }] }])),
      TCP80,
      `
      x/a -.. ... ...
      x/b X-. ... ...
      x/c X.- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `,
    );
  });

  it('10 matchExpressions NotIn on pods of the policy namespace', () => {
    const sel = { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['b'] }] };
    expectGrid(
      m(intoXa('not-b', [{ from: [{ podSelector: sel }] }])),
      TCP80,
      `
      x/a -.. ... ...
      x/b X-. ... ...
      x/c ..- ... ...
      y/a X.. -.. ...
      y/b X.. .-. ...
      y/c X.. ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  describe('pods y/b (tier=no) and z/c (tier=yes) carry an extra label', () => {
    const opts = { podLabels: { 'y/b': { tier: 'no' }, 'z/c': { tier: 'yes' } } };
    const everywhere = (expr: unknown) => [
      { from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [expr] } }] },
    ];

    it('11 NotIn matches pods without the key', () => {
      const model2 = model(
        world([intoXa('p', everywhere({ key: 'tier', operator: 'NotIn', values: ['no'] }))], opts),
      );
      expectGrid(
        model2,
        TCP80,
        `
        x/a -.. ... ...
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b X.. .-. ...
        y/c ... ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `,
      );
    });

    it('12 Exists and DoesNotExist', () => {
      const exists = model(world([intoXa('p', everywhere({ key: 'tier', operator: 'Exists' }))], opts));
      expectGrid(
        exists,
        TCP80,
        `
        x/a -.. ... ...
        x/b X-. ... ...
        x/c X.- ... ...
        y/a X.. -.. ...
        y/b ... .-. ...
        y/c X.. ..- ...
        z/a X.. ... -..
        z/b X.. ... .-.
        z/c ... ... ..-
      `,
      );
      const absent = model(world([intoXa('p', everywhere({ key: 'tier', operator: 'DoesNotExist' }))], opts));
      expectGrid(
        absent,
        TCP80,
        `
        x/a -.. ... ...
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b X.. .-. ...
        y/c ... ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c X.. ... ..-
      `,
      );
    });
  });

  it('13 port 80 only', () => {
    const model = m(intoXa('p80', [{ ports: [{ port: 80 }] }]));
    expectGrid(model, TCP80, ALL_ALLOWED);
    expectGrid(model, TCP81, XA_DENIED);
    expectGrid(model, UDP80, XA_DENIED);
  });

  it('14 port 81 via the named port serve-81-tcp', () => {
    const model = m(intoXa('named', [{ ports: [{ protocol: 'TCP', port: 'serve-81-tcp' }] }]));
    expectGrid(model, TCP81, ALL_ALLOWED);
    expectGrid(model, TCP80, XA_DENIED);
  });

  it('15 endPort ranges', () => {
    const both = m(intoXa('r', [{ ports: [{ port: 80, endPort: 81 }] }]));
    expectGrid(both, TCP80, ALL_ALLOWED);
    expectGrid(both, TCP81, ALL_ALLOWED);
    const upper = m(intoXa('r', [{ ports: [{ port: 81, endPort: 90 }] }]));
    expectGrid(upper, TCP80, XA_DENIED);
    expectGrid(upper, TCP81, ALL_ALLOWED);
  });

  it('16 UDP-only does not allow TCP', () => {
    const model = m(intoXa('udp', [{ ports: [{ protocol: 'UDP', port: 80 }] }]));
    expectGrid(model, TCP80, XA_DENIED);
    expectGrid(model, UDP80, ALL_ALLOWED);
  });

  it('17 SCTP is not treated as TCP', () => {
    const model = m(intoXa('sctp', [{ ports: [{ protocol: 'SCTP', port: 80 }] }]));
    expectGrid(model, TCP80, XA_DENIED);
    expectGrid(model, SCTP80, ALL_ALLOWED);
  });

  it('18 protocol-only ports allow every port of that protocol only', () => {
    const model = m(intoXa('udp-any', [{ ports: [{ protocol: 'UDP' }] }]));
    expectGrid(model, UDP80, ALL_ALLOWED);
    expectGrid(model, UDP81, ALL_ALLOWED);
    expectGrid(model, TCP80, XA_DENIED);
    expectGrid(model, { protocol: 'ICMP' }, XA_DENIED);
  });

  it('19 default-deny egress in x', () => {
    expectGrid(
      m(mnp('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })),
      TCP80,
      `
      x/a -XX XXX XXX
      x/b X-X XXX XXX
      x/c XX- XXX XXX
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `,
    );
  });

  it('20 egress from x/a to y/b only', () => {
    const policy = mnp('x', 'to-yb', {
      podSelector: pods('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsLabel('y'), podSelector: pods('b') }] }],
    });
    expectGrid(
      m(policy),
      TCP80,
      `
      x/a -XX X.X XXX
      x/b .-. ... ...
      x/c ..- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `,
    );
  });

  it('21 missing policyTypes with an empty egress list isolates ingress only (NetworkPolicy defaulting)', () => {
    expectGrid(
      m(mnp('x', 'ingress-only', { podSelector: pods('a'), egress: [] })),
      TCP80,
      `
      x/a -.. ... ...
      x/b X-. ... ...
      x/c X.- ... ...
      y/a X.. -.. ...
      y/b X.. .-. ...
      y/c X.. ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('21b missing policyTypes with a non-empty egress list isolates both directions', () => {
    expectGrid(
      m(mnp('x', 'both', { podSelector: pods('a'), egress: [{ to: [{ podSelector: pods('none') }] }] })),
      TCP80,
      `
      x/a -XX XXX XXX
      x/b X-. ... ...
      x/c X.- ... ...
      y/a X.. -.. ...
      y/b X.. .-. ...
      y/c X.. ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('22 independent ingress (from y) and egress (to z) rules', () => {
    const policy = mnp('x', 'both', {
      podSelector: pods('a'),
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: nsLabel('y') }] }],
      egress: [{ to: [{ namespaceSelector: nsLabel('z') }] }],
    });
    expectGrid(
      m(policy),
      TCP80,
      `
      x/a -XX XXX ...
      x/b X-. ... ...
      x/c X.- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('23 stacked policies are a union', () => {
    const fromY = intoXa('from-y', [{ from: [{ namespaceSelector: nsLabel('y') }] }]);
    const fromZa = intoXa('from-za', [
      { from: [{ namespaceSelector: nsLabel('z'), podSelector: pods('a') }] },
    ]);
    expectGrid(
      m(fromY, fromZa),
      TCP80,
      `
      x/a -.. ... ...
      x/b X-. ... ...
      x/c X.- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('24 policyTypes [Ingress] with egress rules present does not isolate egress', () => {
    const policy = mnp('x', 'ingress-only', {
      podSelector: pods('a'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: pods('none') }] }],
    });
    expectGrid(
      m(policy),
      TCP80,
      `
      x/a -.. ... ...
      x/b .-. ... ...
      x/c ..- ... ...
      y/a X.. -.. ...
      y/b X.. .-. ...
      y/c X.. ..- ...
      z/a X.. ... -..
      z/b X.. ... .-.
      z/c X.. ... ..-
    `,
    );
  });

  it('25 policyTypes [Egress] with ingress rules present does not isolate ingress', () => {
    const policy = mnp('x', 'egress-only', {
      podSelector: pods('a'),
      policyTypes: ['egress'],
      ingress: [{ from: [{ podSelector: pods('none') }] }],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 81 }] }],
    });
    expectGrid(m(policy), TCP81, ALL_ALLOWED);
    expectGrid(
      m(policy),
      TCP80,
      `
      x/a -XX XXX XXX
      x/b .-. ... ...
      x/c ..- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `,
    );
  });

  describe('ipBlock and except', () => {
    const exceptY = { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.2.0/24'] } };
    const Y_DENIED = `
      x/a -.. ... ...
      x/b .-. ... ...
      x/c ..- ... ...
      y/a X.. -.. ...
      y/b X.. .-. ...
      y/c X.. ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `;

    it('26 except removes addresses from its peer', () => {
      expectGrid(m(intoXa('cidr', [{ from: [exceptY] }])), TCP80, Y_DENIED);
    });

    it('27 except narrows only its own peer: another peer, rule or policy still allows', () => {
      const peerInSameRule = m(intoXa('p', [{ from: [exceptY, { ipBlock: { cidr: '10.0.2.1/32' } }] }]));
      const Y_BC_DENIED = `
        x/a -.. ... ...
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b X.. .-. ...
        y/c X.. ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `;
      expectGrid(peerInSameRule, TCP80, Y_BC_DENIED);
      const otherRule = m(
        intoXa('p', [
          { from: [exceptY] },
          { from: [{ namespaceSelector: nsLabel('y'), podSelector: pods('a') }] },
        ]),
      );
      expectGrid(otherRule, TCP80, Y_BC_DENIED);
      const otherPolicy = m(
        intoXa('p1', [{ from: [exceptY] }]),
        intoXa('p2', [{ from: [{ namespaceSelector: {} }] }]),
      );
      expectGrid(otherPolicy, TCP80, ALL_ALLOWED);
    });

    it('28 CIDR and except overlapping across policies', () => {
      const p1 = intoXa('p1', [{ from: [exceptY] }]);
      const p2 = intoXa('p2', [{ from: [{ ipBlock: { cidr: '10.0.2.0/24', except: ['10.0.2.2/32'] } }] }]);
      expectGrid(
        m(p1, p2),
        TCP80,
        `
        x/a -.. ... ...
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b X.. .-. ...
        y/c ... ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `,
      );
    });

    it('29 IPv6 blocks apply to IPv6 traffic only', () => {
      const v6 = m(intoXa('v6', [{ from: [{ ipBlock: { cidr: 'fd00::/64', except: ['fd00::2:0/112'] } }] }]));
      expectGrid(v6, { ...TCP80, family: 6 }, Y_DENIED);
      expectGrid(v6, TCP80, XA_DENIED);
      const v4 = m(intoXa('v4', [{ from: [exceptY] }]));
      expectGrid(v4, { ...TCP80, family: 6 }, XA_DENIED);
    });

    it('30 egress ipBlock with except and ports', () => {
      const policy = mnp('x', 'egress-cidr', {
        podSelector: pods('a'),
        policyTypes: ['Egress'],
        egress: [
          { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.3.0/24'] } }], ports: [{ port: 80 }] },
        ],
      });
      expectGrid(
        m(policy),
        TCP80,
        `
        x/a -.. ... XXX
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b ... .-. ...
        y/c ... ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `,
      );
      expectGrid(
        m(policy),
        TCP81,
        `
        x/a -XX XXX XXX
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b ... .-. ...
        y/c ... ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `,
      );
    });
  });

  describe('named ports resolve on the destination pod', () => {
    it('31 a named port that maps to different numbers, or is missing, per pod', () => {
      const opts = {
        extraNamedPorts: {
          'y/a': [{ name: 'web', port: 80, protocol: 'TCP' as const }],
          'y/b': [{ name: 'web', port: 81, protocol: 'TCP' as const }],
        },
      };
      const policy = mnp('y', 'web', { podSelector: {}, ingress: [{ ports: [{ port: 'web' }] }] });
      const mdl = model(world([policy], opts));
      expectGrid(
        mdl,
        TCP80,
        `
        x/a -.. .XX ...
        x/b .-. .XX ...
        x/c ..- .XX ...
        y/a ... -XX ...
        y/b ... .-X ...
        y/c ... .X- ...
        z/a ... .XX -..
        z/b ... .XX .-.
        z/c ... .XX ..-
      `,
      );
      expectGrid(
        mdl,
        TCP81,
        `
        x/a -.. X.X ...
        x/b .-. X.X ...
        x/c ..- X.X ...
        y/a ... -.X ...
        y/b ... X-X ...
        y/c ... X.- ...
        z/a ... X.X -..
        z/b ... X.X .-.
        z/c ... X.X ..-
      `,
      );
    });

    it('32 a named port with the wrong protocol matches nothing', () => {
      const model = m(intoXa('wrong', [{ ports: [{ protocol: 'UDP', port: 'serve-80-tcp' }] }]));
      expectGrid(model, TCP80, XA_DENIED);
      expectGrid(model, UDP80, XA_DENIED);
    });

    it('33 egress named port resolves on the destination, not the source', () => {
      const opts = { extraNamedPorts: { 'y/c': [{ name: 'web', port: 80, protocol: 'TCP' as const }] } };
      const policy = mnp('x', 'egress-web', {
        podSelector: pods('a'),
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 'web' }] }],
      });
      expectGrid(
        model(world([policy], opts)),
        TCP80,
        `
        x/a -XX XX. XXX
        x/b .-. ... ...
        x/c ..- ... ...
        y/a ... -.. ...
        y/b ... .-. ...
        y/c ... ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `,
      );
    });
  });

  it('34 a peer selecting no pods allows nothing, even with ports set', () => {
    const ingress = m(intoXa('none', [{ from: [{ podSelector: pods('nobody') }], ports: [{ port: 80 }] }]));
    expectGrid(ingress, TCP80, XA_DENIED);
    const egress = m(
      mnp('x', 'none', {
        podSelector: pods('a'),
        policyTypes: ['Egress'],
        egress: [{ to: [{ namespaceSelector: nsLabel('nowhere') }], ports: [{ port: 80 }] }],
      }),
    );
    expectGrid(
      egress,
      TCP80,
      `
      x/a -XX XXX XXX
      x/b .-. ... ...
      x/c ..- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `,
    );
  });

  it('35 client egress and server ingress must both allow', () => {
    const egress = mnp('x', 'egress-80', {
      podSelector: pods('a'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsLabel('y') }], ports: [{ port: 80 }] }],
    });
    const ingress = mnp('y', 'ingress-81', { podSelector: pods('b'), ingress: [{ ports: [{ port: 81 }] }] });
    const mdl = m(egress, ingress);
    expectGrid(
      mdl,
      TCP80,
      `
      x/a -XX .X. XXX
      x/b .-. .X. ...
      x/c ..- .X. ...
      y/a ... -X. ...
      y/b ... .-. ...
      y/c ... .X- ...
      z/a ... .X. -..
      z/b ... .X. .-.
      z/c ... .X. ..-
    `,
    );
    expectGrid(
      mdl,
      TCP81,
      `
      x/a -XX XXX XXX
      x/b .-. ... ...
      x/c ..- ... ...
      y/a ... -.. ...
      y/b ... .-. ...
      y/c ... ..- ...
      z/a ... ... -..
      z/b ... ... .-.
      z/c ... ... ..-
    `,
    );
  });

  it('36 ICMP passes only rules without ports', () => {
    expectGrid(m(intoXa('all', [{ from: [{ namespaceSelector: {} }] }])), { protocol: 'ICMP' }, ALL_ALLOWED);
    expectGrid(m(intoXa('tcp', [{ ports: [{ protocol: 'TCP' }] }])), { protocol: 'ICMP' }, XA_DENIED);
    expectGrid(m(intoXa('all', [{}])), { protocol: 'ICMPv6', family: 6 }, ALL_ALLOWED);
  });

  describe('fail closed on invalid input', () => {
    it('37 an invalid policy podSelector isolates the whole namespace and allows nothing', () => {
      const policy = mnp('x', 'bad', {
        podSelector: { matchExpressions: [{ key: 'pod', operator: 'in', values: ['a'] }] },
        ingress: [{}],
      });
      expectGrid(m(policy), TCP80, X_INGRESS_DENIED);
    });

    it('38 a rule whose ports are all invalid allows nothing (upstream allowed everything)', () => {
      const model = m(
        intoXa('bad-ports', [{ ports: [{ port: 0 }, { protocol: 'tcp', port: 80 }, { port: '80' }] }]),
      );
      expectGrid(model, TCP80, XA_DENIED);
      expectGrid(model, UDP81, XA_DENIED);
    });

    it('39 a rule whose peers are all invalid allows nothing', () => {
      const model = m(
        intoXa('bad-peers', [
          {
            from: [
              { ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/24'] } },
              {},
              { podSelector: { matchLabels: { 'a/b/c': 'x' } } },
            ],
          },
        ]),
      );
      expectGrid(model, TCP80, XA_DENIED);
    });

    it('40 an invalid peer is dropped while valid peers of the rule still allow', () => {
      const model = m(
        intoXa('mixed', [
          {
            from: [
              { ipBlock: { cidr: '10.0.0.0/8', except: ['fd00::/64'] } },
              { namespaceSelector: nsLabel('z') },
            ],
          },
        ]),
      );
      expectGrid(
        model,
        TCP80,
        `
        x/a -.. ... ...
        x/b X-. ... ...
        x/c X.- ... ...
        y/a X.. -.. ...
        y/b X.. .-. ...
        y/c X.. ..- ...
        z/a ... ... -..
        z/b ... ... .-.
        z/c ... ... ..-
      `,
      );
    });
  });
});
