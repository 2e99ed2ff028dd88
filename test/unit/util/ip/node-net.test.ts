// The IP library against Node's own reader (net.isIP, the same rules as its socket code) and
// BlockList, where they overlap: what text is an address, how an address is written, and which
// addresses a CIDR holds. Node allows zone ids ("%eth0") and maps IPv4 into IPv6 in BlockList;
// the library refuses the first and keeps the families apart, so those cases are left out here
// (parse.test.ts holds them to the library's rule).

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { BlockList, isIP, isIPv4, isIPv6, SocketAddress } from 'node:net';
import {
  ADDRESS_BITS,
  containsIp,
  type Family,
  formatAddress,
  formatCidr,
  parseAddress,
  parseCidr,
  parseCidrInterval,
} from '../../../../src/util/ip/index.js';

/** Values with runs of zero groups, so that "::" compression is exercised. */
const ipv6Value = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((groups) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
const ipv4Value = fc.integer({ min: 0, max: 0xffffffff }).map(BigInt);
const address = fc.oneof(
  ipv4Value.map((value) => ({ family: 4 as Family, value })),
  ipv6Value.map((value) => ({ family: 6 as Family, value })),
);

/** Text near the edge of what is an address: valid ones, then bent by one small edit. */
const edits: ((s: string) => string)[] = [
  (s) => s,
  (s) => `0${s}`,
  (s) => s.replace('.', '.0'),
  (s) => s.replace(':', '::'),
  (s) => s.replace('::', ':'),
  (s) => s.replace(/[0-9a-f]+$/, (m) => `0${m}`),
  (s) => `${s}:`,
  (s) => s.slice(1),
  (s) => s.slice(0, -1),
  (s) => `${s} `,
  (s) => s.toUpperCase(),
  (s) => `::ffff:${s}`,
  (s) => s.replace(/:[0-9a-f]+$/, ':1.2.3.4'),
  (s) => s.replace(/\.\d+$/, '.256'),
];
const nearAddress = fc
  .tuple(address, fc.integer({ min: 0, max: edits.length - 1 }), fc.boolean())
  .map(([a, edit, expand]) => {
    const text =
      a.family === 6 && expand
        ? Array.from({ length: 8 }, (_, i) =>
            ((a.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
          ).join(':')
        : formatAddress(a.value, a.family);
    return edits[edit]!(text);
  });

describe('util/ip against node:net', () => {
  it('reads as an address exactly what net.isIP reads, with the same family (property)', () => {
    fc.assert(
      fc.property(fc.oneof(nearAddress, fc.string({ maxLength: 20 })), (text) => {
        fc.pre(!text.includes('%'));
        const family = parseAddress(text)?.family ?? 0;
        expect(family, JSON.stringify(text)).to.equal(isIP(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('writes addresses that net reads back, in the text SocketAddress writes (property)', () => {
    fc.assert(
      fc.property(address, ({ family, value }) => {
        const text = formatAddress(value, family);
        expect(family === 4 ? isIPv4(text) : isIPv6(text), text).to.equal(true);
        expect(parseAddress(text)).to.deep.equal({ family, value });
        // libuv writes ::/96 and ::ffff:0:0/96 with a dotted IPv4 tail; RFC 5952 text otherwise.
        if (family === 6 && (value >> 32n === 0n || value >> 32n === 0xffffn)) return;
        const node = new SocketAddress({ address: text, family: family === 4 ? 'ipv4' : 'ipv6' });
        expect(text).to.equal(node.address);
      }),
      { numRuns: 3000 },
    );
  });

  it('a CIDR holds the addresses BlockList.addSubnet holds, in both families (property)', () => {
    const cidrAndAddress = address.chain((a) =>
      fc.tuple(
        fc.constant(a),
        fc.integer({ min: 0, max: ADDRESS_BITS[a.family] }),
        // Near the network often, so that both answers occur.
        fc.oneof(
          fc.bigInt({ min: 0n, max: (1n << BigInt(ADDRESS_BITS[a.family])) - 1n }),
          fc.bigInt({ min: 0n, max: 0xffffn }).map((d) => a.value ^ d),
          fc
            .bigInt({ min: 0n, max: 0xffffffffn })
            .map((d) => a.value ^ (d << BigInt(ADDRESS_BITS[a.family] - 32))),
        ),
      ),
    );
    fc.assert(
      fc.property(cidrAndAddress, ([a, prefix, probe]) => {
        const type = a.family === 4 ? 'ipv4' : 'ipv6';
        const networkText = formatAddress(a.value, a.family);
        const probeText = formatAddress(probe, a.family);
        const list = new BlockList();
        list.addSubnet(networkText, prefix, type);
        const cidr = parseCidr(`${networkText}/${prefix}`)!;
        const interval = parseCidrInterval(formatCidr(cidr))!.interval;
        const expected = list.check(probeText, type);
        expect(containsIp(cidr, { family: a.family, value: probe })).to.equal(expected);
        expect(interval[0] <= probe && probe <= interval[1]).to.equal(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
