import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import {
  canonicalIpText,
  containsCidr,
  containsIp,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
} from '../../../src/policy/cidr.js';

describe('cidr', () => {
  it('parses and formats IPv4', () => {
    expect(parseIp('10.0.2.3')).to.deep.equal({ family: 4, value: 0x0a000203n });
    expect(formatIp({ family: 4, value: 0xc0a80101n })).to.equal('192.168.1.1');
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
      expect(parseIp(bad), bad).to.equal(undefined);
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
    for (const [input, canonical] of cases) expect(canonicalIpText(input), input).to.equal(canonical);
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
      expect(parseIp(bad), bad).to.equal(undefined);
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
    expect(containsIp(net, parseIp('10.0.255.255')!)).to.equal(true);
    expect(containsIp(net, parseIp('10.1.0.0')!)).to.equal(false);
    expect(containsIp(parseCidr('::/0')!, parseIp('10.0.0.1')!)).to.equal(false);
    expect(containsCidr(net, parseCidr('10.0.2.0/24')!)).to.equal(true);
    expect(containsCidr(net, net)).to.equal(true);
    expect(containsCidr(parseCidr('10.0.2.0/24')!, net)).to.equal(false);
    expect(containsCidr(parseCidr('0.0.0.0/0')!, parseCidr('::/0')!)).to.equal(false);
  });

  it('formatting then parsing is the identity (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const text = formatIp({ family: 6, value });
        expect(parseIp(text)).to.deep.equal({ family: 6, value });
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(canonicalIpText(text)).to.equal(text);
      }),
      { numRuns: 300 },
    );
  });
});
