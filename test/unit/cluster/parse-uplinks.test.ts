import { expect } from 'chai';
import { parseUplinkRepresentors } from '../../../src/cluster/parse-uplinks.js';

describe('parseUplinkRepresentors', () => {
  it('reads one uplink for every PF', () => {
    expect(parseUplinkRepresentors('p0', 'Node w')).to.deep.equal({ value: { '*': 'p0' }, problems: [] });
  });

  it('reads per-PF pairs, lower-casing PCI addresses', () => {
    const r = parseUplinkRepresentors('0000:03:00.0=p0, 0000:AF:00.1 = p1', 'Node w');
    expect(r).to.deep.equal({ value: { '0000:03:00.0': 'p0', '0000:af:00.1': 'p1' }, problems: [] });
  });

  it('reports bad entries and keeps the good ones', () => {
    const r = parseUplinkRepresentors('p0,03:00.0=p1,0000:03:00.1=a/b,q0', 'Node w');
    expect(r.value).to.deep.equal({ '*': 'p0' });
    expect(r.problems.map((p) => p.message)).to.deep.equal([
      '"03:00.0" is not a PCI address',
      '"a/b" is not an interface name',
      'the default uplink is given twice',
    ]);
  });

  it('no annotation: no uplinks', () => {
    expect(parseUplinkRepresentors(undefined, 'Node w')).to.deep.equal({ value: {}, problems: [] });
  });
});
