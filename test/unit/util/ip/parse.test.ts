import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import {
  canonicalIp,
  containsCidr,
  containsIp,
  formatAddress,
  formatCidr,
  parseAddress,
  parseAddressOrCidr,
  parseCidr,
  parseCidrInterval,
  parseIpv4Number,
} from '../../../../src/util/ip/index.js';

describe('util/ip: parse', () => {
  it('parses and formats IPv4', () => {
    expect(parseAddress('10.0.2.3')).to.deep.equal({ family: 4, value: 0x0a000203n });
    expect(formatAddress(0xc0a80101n, 4)).to.equal('192.168.1.1');
    for (const bad of [
      '10.0.0',
      '10.0.0.256',
      '010.0.0.1',
      '1.2.3.4.5',
      '',
      ' 1.2.3.4',
      '1.2.3.-4',
      '0x1.2.3.4',
    ]) {
      expect(parseAddress(bad), bad).to.equal(undefined);
    }
  });

  it('parses IPv6 forms and formats per RFC 5952', () => {
    const cases: [string, string][] = [
      ['fd00::1', 'fd00::1'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::ffff:0:a00:1', '::ffff:0:a00:1'],
      ['fd00:0::2:1', 'fd00::2:1'],
    ];
    for (const [input, canonical] of cases) expect(canonicalIp(input)?.ip, input).to.equal(canonical);
    for (const bad of [
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      ':1:2:3:4:5:6:7',
      '12345::',
      '1:2:3:4:5:6:7:8::',
      'g::1',
      'fe80::1%eth0',
      '1.2.3.4::',
    ]) {
      expect(parseAddress(bad), bad).to.equal(undefined);
    }
  });

  it('parses CIDRs, clears host bits and reports them', () => {
    expect(parseCidr('10.0.0.0/8')).to.deep.equal({
      family: 4,
      network: 0x0a000000n,
      prefix: 8,
      hostBitsSet: false,
    });
    const host = parseCidr('10.0.0.5/24');
    expect(host?.hostBitsSet).to.equal(true);
    expect(host && formatCidr(host)).to.equal('10.0.0.0/24');
    expect(formatCidr(parseCidr('fd00::2:1/112')!)).to.equal('fd00::2:0/112');
    expect(formatCidr(parseCidr('0.0.0.0/0')!)).to.equal('0.0.0.0/0');
    for (const bad of [
      '10.0.0.0',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/08',
      'fd00::/129',
      '/8',
      '10.0.0.0/8/8',
      'x/8',
    ]) {
      expect(parseCidr(bad), bad).to.equal(undefined);
    }
  });

  it('checks containment within one family only', () => {
    const net = parseCidr('10.0.0.0/16')!;
    expect(containsIp(net, parseAddress('10.0.255.255')!)).to.equal(true);
    expect(containsIp(net, parseAddress('10.1.0.0')!)).to.equal(false);
    expect(containsIp(parseCidr('::/0')!, parseAddress('10.0.0.1')!)).to.equal(false);
    expect(containsCidr(net, parseCidr('10.0.2.0/24')!)).to.equal(true);
    expect(containsCidr(net, net)).to.equal(true);
    expect(containsCidr(parseCidr('10.0.2.0/24')!, net)).to.equal(false);
    expect(containsCidr(parseCidr('0.0.0.0/0')!, parseCidr('::/0')!)).to.equal(false);
  });

  it('formatting then parsing is the identity (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const text = formatAddress(value, 6);
        expect(parseAddress(text)).to.deep.equal({ family: 6, value });
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(canonicalIp(text)?.ip).to.equal(text);
      }),
      { numRuns: 300 },
    );
  });
  describe('one strictness rule, for every reader', () => {
    // Every reader of address text: a CIDR reader must refuse what the address reader refuses.
    const readers: [string, (text: string) => unknown][] = [
      ['parseAddress', parseAddress],
      ['parseCidr', parseCidr],
      ['parseAddressOrCidr', parseAddressOrCidr],
      ['parseCidrInterval', parseCidrInterval],
      ['canonicalIp', canonicalIp],
    ];
    const refusedByAll: [string, string][] = [
      ['leading zero in an IPv4 octet', '010.0.0.1'],
      ['leading zero in the last octet', '10.0.0.01'],
      ['leading zero in an embedded IPv4 octet', '::ffff:10.0.0.01'],
      ['zone id', 'fe80::1%eth0'],
      ['leading space', ' 10.0.0.1'],
      ['trailing newline', '10.0.0.1\n'],
      ['tab inside IPv6', 'fd00::\t1'],
      ['hex IPv4', '0x0a.0.0.1'],
      ['short IPv4', '10.1'],
      ['IPv4 before "::"', '1.2.3.4::'],
      ['empty', ''],
    ];
    for (const [name, read] of readers) {
      for (const [what, text] of refusedByAll) {
        it(`${name} refuses ${what}`, () => {
          expect(read(text)).to.equal(undefined);
          expect(read(`${text}/8`)).to.equal(undefined);
        });
      }
    }

    const cidrOnly: [string, string][] = [
      ['a leading zero in the length', '10.0.0.0/08'],
      ['a zero length written "00"', '10.0.0.0/00'],
      ['a space before the length', '10.0.0.0/ 8'],
      ['a space before the slash', '10.0.0.0 /8'],
      ['a signed length', '10.0.0.0/+8'],
      ['a length too long for IPv4', '10.0.0.0/33'],
      ['a length too long for IPv6', 'fd00::/129'],
      ['two slashes', '10.0.0.0/8/8'],
      ['an empty length', '10.0.0.0/'],
      ['a zone id before the length', 'fe80::%eth0/64'],
    ];
    for (const [what, text] of cidrOnly) {
      it(`CIDR readers refuse ${what}`, () => {
        expect(parseCidr(text), text).to.equal(undefined);
        expect(parseAddressOrCidr(text), text).to.equal(undefined);
        expect(parseCidrInterval(text), text).to.equal(undefined);
      });
    }

    it('a bare address is not a CIDR; in tc notation it is a host prefix', () => {
      expect(parseCidr('10.0.0.1')).to.equal(undefined);
      expect(parseCidr('fd00::1')).to.equal(undefined);
      expect(parseAddressOrCidr('10.0.0.1')).to.deep.equal({
        family: 4,
        network: 0x0a000001n,
        prefix: 32,
        hostBitsSet: false,
      });
      expect(parseCidrInterval('fd00::1')).to.deep.equal({
        family: 6,
        interval: [(0xfd00n << 112n) | 1n, (0xfd00n << 112n) | 1n],
      });
    });

    it('IPv4-mapped IPv6 is IPv6 to the parsers; canonicalIp writes it as IPv4', () => {
      expect(parseAddress('::ffff:10.0.0.1')).to.deep.equal({ family: 6, value: 0xffff0a000001n });
      expect(parseCidr('::ffff:10.0.0.0/104')).to.deep.equal({
        family: 6,
        network: 0xffff0a000000n,
        prefix: 104,
        hostBitsSet: false,
      });
      expect(parseCidr('::ffff:10.0.0.0/8')?.prefix).to.equal(8);
      expect(canonicalIp('::ffff:10.0.0.1')).to.deep.equal({ ip: '10.0.0.1', family: 4 });
    });

    it('the fast IPv4 reader agrees with parseAddress on any text (property)', () => {
      const octet = fc.oneof(
        fc.integer({ min: 0, max: 300 }).map(String),
        fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`),
        fc.constantFrom('', ' ', 'x', '-1', '1e1'),
      );
      const text = fc.oneof(
        fc.array(octet, { minLength: 1, maxLength: 5 }).map((o) => o.join('.')),
        fc.string({ maxLength: 16 }),
      );
      fc.assert(
        fc.property(text, (t) => {
          const n = parseIpv4Number(t);
          const a = parseAddress(t);
          if (n === undefined) expect(a?.family === 4, t).to.equal(false);
          else expect(a, t).to.deep.equal({ family: 4, value: BigInt(n) });
        }),
        { numRuns: 3000 },
      );
    });
  });
});
