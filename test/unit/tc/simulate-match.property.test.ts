// The simulator's two filter matchers on random filters and packets: matchesParsed (the filter's
// addresses parsed once per filter object in a SimulatorMemo, the packet's once per packet) must agree with
// matchesFromScratch (the filter's text, parsed on every call) on every pair. Addresses come from
// a small pool so that prefixes often contain them, both families meet, and /0 prefixes, bare
// addresses and malformed text occur.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import type { EthType, Filter, FilterProtocol, FlowerMatch, IpProto } from '../../../src/tc/ir.js';
import type { CtState, Packet, VlanTpid } from '../../../src/tc/simulate/packet.js';
import {
  matchesFromScratch,
  matchesParsed,
  parsePacketAddresses,
} from '../../../src/tc/simulate/simulate.js';
import { SimulatorMemo } from '../../../src/tc/simulate/simulator-memo.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

const ADDRESSES = [
  '10.0.0.1',
  '10.0.0.2',
  '10.0.1.7',
  '10.128.0.1',
  '192.0.2.9',
  'fd00::1',
  'fd00::2',
  'fd00:0:0:1::7',
  '2001:db8::9',
  '::ffff:10.0.0.1',
];
/** Prefix lengths per family, from all (no match, as in the kernel) to one address. */
const LENGTHS = { 4: [0, 1, 8, 16, 24, 30, 31, 32], 6: [0, 1, 16, 64, 96, 120, 127, 128] };

const cidrArb: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...ADDRESSES), fc.nat(7))
      .map(([a, i]) => `${a}/${LENGTHS[a.includes(':') ? 6 : 4][i]}`),
    weight: 6,
  },
  { arbitrary: fc.constantFrom(...ADDRESSES), weight: 2 }, // a bare address: a host prefix
  fc.constantFrom('10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'x/8', '10.0.0.1/', '', '0.0.0.0/0', '::/0'),
);

/** A packet's address: one of the pool, sometimes absent-like or malformed. */
const packetIpArb = fc.oneof(
  { arbitrary: fc.constantFrom(...ADDRESSES), weight: 6 },
  fc.constantFrom('', '10.0.0', 'nonsense'),
);

const ipProtos: IpProto[] = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6'];
const ethTypes: EthType[] = ['ip', 'ipv6', '802.1q', '802.1ad', 'arp'];
const protocols: FilterProtocol[] = ['all', 'ip', 'ipv6', '802.1q', '802.1ad'];

/** A key present one time in `rarity` + 1: filters with few keys, so that some do match. */
function sometimes<T>(arb: fc.Arbitrary<T>, rarity: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: rarity }, { arbitrary: arb, weight: 1 });
}

const matchArb: fc.Arbitrary<FlowerMatch> = fc
  .record({
    vlanEthType: sometimes(fc.constantFrom(...ethTypes), 10),
    cvlanEthType: sometimes(fc.constantFrom(...ethTypes), 12),
    ctState: sometimes(fc.constantFrom('+trk+est' as const, '+trk+new' as const, '+trk+rel' as const), 10),
    ipProto: sometimes(fc.constantFrom(...ipProtos), 6),
    srcIp: sometimes(cidrArb, 1),
    dstIp: sometimes(cidrArb, 1),
    dstPort: sometimes(
      fc
        .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 50 }))
        .map(([lo, w]): [number, number] => [lo, lo + w]),
      10,
    ),
    icmpType: sometimes(fc.integer({ min: 0, max: 255 }), 12),
    icmpTypeMask: sometimes(fc.integer({ min: 0, max: 255 }), 12),
  })
  // Absent keys are absent, not undefined: as the compiler writes them.
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as FlowerMatch);

const filterArb: fc.Arbitrary<Filter> = fc.record({
  prio: fc.integer({ min: 1, max: 10 }),
  protocol: fc.oneof(
    { arbitrary: fc.constant<FilterProtocol>('all'), weight: 4 },
    fc.constantFrom(...protocols),
  ),
  match: matchArb,
  actions: fc.constant([{ kind: 'pass' as const }]),
  note: fc.constant('random'),
});

const packetArb: fc.Arbitrary<Packet> = fc.record(
  {
    device: fc.constant('rep'),
    tags: fc.oneof(
      { arbitrary: fc.constant<VlanTpid[]>([]), weight: 3 },
      fc.array(fc.constantFrom<VlanTpid>('802.1q', '802.1ad'), { minLength: 1, maxLength: 2 }),
    ),
    ethType: fc.oneof(
      { arbitrary: fc.constantFrom('ip' as const, 'ipv6' as const), weight: 4 },
      fc.constantFrom('arp' as const, 'other' as const),
    ),
    srcIp: packetIpArb,
    dstIp: packetIpArb,
    ipProto: fc.constantFrom<IpProto | 'other'>(...ipProtos, 'other'),
    srcPort: fc.integer({ min: 1, max: 150 }),
    dstPort: fc.integer({ min: 1, max: 150 }),
    icmpType: fc.integer({ min: 0, max: 255 }),
  },
  { requiredKeys: ['device', 'tags', 'ethType'] },
);

const ctArb = fc.constantFrom<'untracked' | CtState>('untracked', 'est', 'new', 'inv');

describe('simulate: the parsed matcher agrees with the one from scratch', () => {
  it('on random filters and packets, each filter tried on several packets (its parse is reused)', () => {
    let addressMatches = 0;
    let addressMisses = 0;
    fc.assert(
      fc.property(
        fc.array(filterArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(packetArb, ctArb), { minLength: 1, maxLength: 8 }),
        (filters, packets) => {
          const memo = new SimulatorMemo();
          for (const [p, ct] of packets) {
            const addresses = parsePacketAddresses(p);
            for (const f of filters) {
              const want = matchesFromScratch(f, p, ct);
              expect(matchesParsed(memo, f, p, addresses, ct), JSON.stringify({ f, p, ct })).to.equal(want);
              if (f.match.srcIp || f.match.dstIp) {
                if (want) addressMatches++;
                else addressMisses++;
              }
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Filters with addresses both matched and missed: the agreement is not only on `false`.
    expect(addressMatches).to.be.greaterThan(RUNS / 10);
    expect(addressMisses).to.be.greaterThan(RUNS / 3);
  });

  it('on packets built to fall inside a filter prefix, or just outside it', () => {
    // Addresses that sit at the edges of the prefixes: the comparisons' bounds are exercised.
    const edges = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
      )
      .map(([x, n, y, v6]) => ({
        cidr: v6 ? `fd00::${x.toString(16)}00/${96 + n}` : `10.1.${x}.0/${n}`,
        ip: v6 ? `fd00::${x.toString(16)}${y.toString(16).padStart(2, '0')}` : `10.1.${x}.${y}`,
        other: v6 ? `fd00::${((x + 1) % 256).toString(16)}00` : `10.1.${(x + 1) % 256}.0`,
      }));
    let inside = 0;
    fc.assert(
      fc.property(edges, fc.boolean(), ({ cidr, ip, other }, onSrc) => {
        const f: Filter = {
          prio: 1,
          protocol: 'all',
          match: onSrc ? { srcIp: cidr } : { dstIp: cidr },
          actions: [{ kind: 'drop' }],
          note: 'edge',
        };
        const memo = new SimulatorMemo();
        for (const addr of [ip, other]) {
          const fam = addr.includes(':') ? 'ipv6' : 'ip';
          const p: Packet = { device: 'rep', tags: [], ethType: fam, srcIp: addr, dstIp: addr };
          const want = matchesFromScratch(f, p, 'untracked');
          if (want) inside++;
          expect(matchesParsed(memo, f, p, parsePacketAddresses(p), 'untracked'), `${cidr} ${addr}`).to.equal(
            want,
          );
        }
      }),
      { numRuns: RUNS },
    );
    expect(inside).to.be.greaterThan(RUNS / 4);
  });
});
