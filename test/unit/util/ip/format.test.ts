import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { canonicalIp } from '../../../../src/util/ip/index.js';

describe('util/ip: format, canonicalIp', () => {
  it('accepts IPv4 dotted quads', () => {
    expect(canonicalIp('10.56.1.5')).to.deep.equal({ ip: '10.56.1.5', family: 4 });
    expect(canonicalIp('0.0.0.0')).to.deep.equal({ ip: '0.0.0.0', family: 4 });
    expect(canonicalIp('255.255.255.255')?.ip).to.equal('255.255.255.255');
  });

  it('rejects malformed IPv4', () => {
    for (const s of [
      '10.56.1',
      '10.56.1.256',
      '10.56.01.5',
      '1.2.3.4.5',
      '1.2.3.',
      ' 1.2.3.4',
      '1.2.3.4/24',
      'a.b.c.d',
      '',
    ]) {
      expect(canonicalIp(s), s).to.equal(undefined);
    }
  });

  it('writes IPv6 in RFC 5952 form', () => {
    expect(canonicalIp('FD00:0056:0000:0000:0000:0000:0000:0010')).to.deep.equal({
      ip: 'fd00:56::10',
      family: 6,
    });
    expect(canonicalIp('fd00:56::10')?.ip).to.equal('fd00:56::10');
    expect(canonicalIp('::')?.ip).to.equal('::');
    expect(canonicalIp('::1')?.ip).to.equal('::1');
    expect(canonicalIp('1::')?.ip).to.equal('1::');
    // A single zero group is not compressed; the longest run is, the first of equal runs wins.
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')?.ip).to.equal('2001:db8:0:1:1:1:1:1');
    expect(canonicalIp('2001:0:0:1:0:0:0:1')?.ip).to.equal('2001:0:0:1::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')?.ip).to.equal('2001:db8::1:0:0:1');
  });

  it('reads embedded IPv4 and turns IPv4-mapped addresses into IPv4', () => {
    expect(canonicalIp('::ffff:10.56.1.5')).to.deep.equal({ ip: '10.56.1.5', family: 4 });
    expect(canonicalIp('::FFFF:0a38:0105')).to.deep.equal({ ip: '10.56.1.5', family: 4 });
    expect(canonicalIp('64:ff9b::192.0.2.1')).to.deep.equal({ ip: '64:ff9b::c000:201', family: 6 });
  });

  it('rejects malformed IPv6', () => {
    for (const s of [
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      ':1:2:3:4:5:6:7',
      '12345::',
      'fe80::1%eth0',
      'g::1',
      '1:2:3:4:5:6:7::8',
      '::1.2.3',
    ]) {
      expect(canonicalIp(s), s).to.equal(undefined);
    }
  });

  it('is idempotent and preserves the address (property)', () => {
    const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 8,
      maxLength: 8,
    });
    fc.assert(
      fc.property(groups, (g) => {
        const full = g.map((x) => x.toString(16).padStart(4, '0')).join(':');
        const c = canonicalIp(full);
        expect(c).to.not.equal(undefined);
        expect(canonicalIp(c?.ip ?? '')).to.deep.equal(c);
        if (c?.family === 6) {
          // Expanding the canonical form gives back the same groups.
          const [head = '', tail] = c.ip.split('::');
          const h = head ? head.split(':') : [];
          const t = tail ? tail.split(':') : [];
          const expanded =
            tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
          expect(expanded.map((x) => parseInt(x, 16))).to.deep.equal(g);
        }
      }),
    );
  });
});
