import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import {
  emptyPortSet,
  formatPortSet,
  listOfPorts,
  portSetContains,
  portSetEquals,
  portSetIntersect,
  portSetIsEmpty,
  portSetKey,
  portSetUnion,
  resolvePorts,
} from '../../../src/policy/ports.js';
import type { PortEntry, PortSet, Protocol } from '../../../src/policy/types.js';
import { podInfo } from './fixtures.js';

const list = (...entries: PortEntry[]) => ({ kind: 'list' as const, entries });
const tcp = (port: number, endPort = port): PortEntry => ({ kind: 'range', protocol: 'TCP', port, endPort });

describe('PortSet', () => {
  const pod = podInfo({
    namespace: 'x',
    name: 'a',
    namedPorts: [
      { name: 'web', port: 8080, protocol: 'TCP' },
      { name: 'web', port: 8443, protocol: 'TCP' },
      { name: 'web', port: 9000, protocol: 'UDP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ],
  });

  it('a list without named ports is resolved once: one set for every destination, equal to resolving it', () => {
    const fixed = listOfPorts([tcp(81, 90), tcp(80), { kind: 'protocol', protocol: 'UDP' }]);
    const first = resolvePorts(fixed, pod);
    expect(resolvePorts(fixed, undefined)).to.equal(first);
    expect(first).to.deep.equal(
      resolvePorts(list(tcp(81, 90), tcp(80), { kind: 'protocol', protocol: 'UDP' }), pod),
    );
    const named = listOfPorts([tcp(80), { kind: 'named', protocol: 'TCP', name: 'web' }]);
    expect(named).to.not.have.property('fixed');
    expect(resolvePorts(named, pod)).to.deep.equal({
      all: false,
      TCP: [
        [80, 80],
        [8080, 8080],
        [8443, 8443],
      ],
      UDP: [],
      SCTP: [],
    });
    expect(resolvePorts(named, undefined)).to.deep.equal({ all: false, TCP: [[80, 80]], UDP: [], SCTP: [] });
  });

  it('resolves "all", ranges, protocol-only entries and named ports', () => {
    expect(resolvePorts({ kind: 'all' }, undefined)).to.deep.equal({ all: true });
    expect(resolvePorts(list(), pod)).to.deep.equal(emptyPortSet());
    expect(resolvePorts(list(tcp(81, 90), tcp(80), tcp(85, 100), tcp(102)), undefined)).to.deep.equal({
      all: false,
      TCP: [
        [80, 100],
        [102, 102],
      ],
      UDP: [],
      SCTP: [],
    });
    expect(resolvePorts(list({ kind: 'protocol', protocol: 'SCTP' }), undefined)).to.deep.equal({
      all: false,
      TCP: [],
      UDP: [],
      SCTP: [[0, 65535]],
    });
  });

  it('resolves named ports on the destination pod by name and protocol', () => {
    const web: PortEntry = { kind: 'named', protocol: 'TCP', name: 'web' };
    expect(portSetKey(resolvePorts(list(web), pod))).to.equal('TCP:8080,8443;UDP:;SCTP:');
    expect(portSetKey(resolvePorts(list({ kind: 'named', protocol: 'UDP', name: 'web' }), pod))).to.equal(
      'TCP:;UDP:9000;SCTP:',
    );
    expect(portSetIsEmpty(resolvePorts(list({ kind: 'named', protocol: 'TCP', name: 'dns' }), pod))).to.equal(
      true,
    );
    expect(portSetIsEmpty(resolvePorts(list(web), undefined))).to.equal(true);
  });

  it('ICMP is contained only in {all: true}', () => {
    const allTcp = resolvePorts(list({ kind: 'protocol', protocol: 'TCP' }), undefined);
    expect(portSetContains({ all: true }, 'ICMP')).to.equal(true);
    expect(portSetContains({ all: true }, 'ICMPv6')).to.equal(true);
    expect(portSetContains(allTcp, 'ICMP')).to.equal(false);
    expect(portSetContains(allTcp, 'TCP', 1)).to.equal(true);
    expect(portSetContains(allTcp, 'TCP')).to.equal(true);
    expect(portSetContains(resolvePorts(list(tcp(80)), undefined), 'TCP')).to.equal(false);
    expect(portSetContains(allTcp, 'UDP', 1)).to.equal(false);
  });

  it('keys and formats canonically', () => {
    expect(portSetKey({ all: true })).to.equal('all');
    expect(
      portSetKey({
        all: false,
        TCP: [
          [81, 81],
          [80, 80],
        ],
        UDP: [],
        SCTP: [],
      }),
    ).to.equal('TCP:80-81;UDP:;SCTP:');
    expect(
      portSetEquals({ all: true }, { all: false, TCP: [[0, 65535]], UDP: [[0, 65535]], SCTP: [[0, 65535]] }),
    ).to.equal(false);
    expect(
      formatPortSet(resolvePorts(list(tcp(80), { kind: 'protocol', protocol: 'UDP' }), undefined)),
    ).to.equal('TCP 80, UDP (all ports)');
    expect(formatPortSet(emptyPortSet())).to.equal('nothing');
  });

  describe('set algebra agrees with membership (property)', () => {
    const PROTOS: Protocol[] = ['TCP', 'UDP', 'SCTP'];
    // Small port space so overlaps and adjacency are common.
    const range = fc
      .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 8 }))
      .map(([a, w]) => [a, a + w] as [number, number]);
    const entry: fc.Arbitrary<PortEntry> = fc.oneof(
      fc
        .tuple(fc.constantFrom(...PROTOS), range)
        .map(([protocol, [port, endPort]]) => ({ kind: 'range' as const, protocol, port, endPort })),
      fc.constantFrom(...PROTOS).map((protocol) => ({ kind: 'protocol' as const, protocol })),
    );
    const portSet: fc.Arbitrary<PortSet> = fc.oneof(
      { weight: 1, arbitrary: fc.constant({ all: true } as PortSet) },
      {
        weight: 6,
        arbitrary: fc
          .array(entry, { maxLength: 4 })
          .map((entries) => resolvePorts(list(...entries), undefined)),
      },
    );
    const probes = PROTOS.flatMap((p) =>
      [0, 1, 7, 20, 39, 40, 41, 48, 49, 50, 65535].map((port) => [p, port] as const),
    );

    it('union, intersection, equality and emptiness', () => {
      fc.assert(
        fc.property(portSet, portSet, (a, b) => {
          const u = portSetUnion(a, b);
          const i = portSetIntersect(a, b);
          for (const [p, port] of probes) {
            const inA = portSetContains(a, p, port);
            const inB = portSetContains(b, p, port);
            expect(portSetContains(u, p, port)).to.equal(inA || inB);
            expect(portSetContains(i, p, port)).to.equal(inA && inB);
          }
          expect(portSetContains(u, 'ICMP')).to.equal(a.all || b.all);
          expect(portSetContains(i, 'ICMP')).to.equal(a.all && b.all);
          expect(portSetEquals(portSetUnion(a, b), portSetUnion(b, a))).to.equal(true);
          expect(portSetEquals(portSetIntersect(a, b), portSetIntersect(b, a))).to.equal(true);
          expect(portSetEquals(portSetUnion(a, a), a)).to.equal(true);
          for (const s of [u, i]) {
            if (s.all) continue;
            for (const p of PROTOS) {
              // sorted, disjoint and not adjacent
              s[p].forEach(([from, to], k) => {
                expect(from).to.be.at.most(to);
                const next = s[p][k + 1];
                if (next) expect(next[0]).to.be.greaterThan(to + 1);
              });
            }
          }
          expect(portSetIsEmpty(i)).to.equal(
            !i.all &&
              probes.every(([p, port]) => !portSetContains(i, p, port)) &&
              portSetKey(i) === 'TCP:;UDP:;SCTP:',
          );
        }),
        { numRuns: 400 },
      );
    });
  });
});
