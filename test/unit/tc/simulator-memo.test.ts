// SimulatorMemo: what the simulator keeps between packets belongs to the memo's owner. One memo
// answers again from what it kept (the same objects); another memo shares nothing with it, and
// its answers are equal.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import type { DevicePipeline, Filter } from '../../../src/tc/ir.js';
import { kernelOrder } from '../../../src/tc/simulate/flower-kernel-rules.js';
import { SimulatorMemo } from '../../../src/tc/simulate/simulator-memo.js';

const filters: Filter[] = [
  { prio: 20, protocol: 'ip', match: { ipProto: 'tcp' }, actions: [{ kind: 'pass' }], note: 'tcp' },
  { prio: 10, protocol: 'ip', match: { dstIp: '10.0.0.0/24' }, actions: [{ kind: 'drop' }], note: 'net' },
  { prio: 10, protocol: 'ip', match: { ipProto: 'udp' }, actions: [{ kind: 'drop' }], note: 'udp' },
];

const device: DevicePipeline = {
  device: 'dev',
  kind: 'vf',
  networks: [],
  interfaces: [],
  chains: [
    { index: 0, purpose: 'entry', filters },
    { index: 7, purpose: 'other', filters: [] },
  ],
};

describe('SimulatorMemo', () => {
  it('keeps a chain order, chains by index and parsed keys per object, and memos share nothing', () => {
    const a = new SimulatorMemo();
    const b = new SimulatorMemo();
    const order = a.kernelOrder(0, filters);
    expect(order.map((f) => f.note)).to.deep.equal(['net', 'udp', 'tcp']);
    expect(order).to.deep.equal(kernelOrder(0, filters));
    expect(a.kernelOrder(0, filters)).to.equal(order);
    const other = b.kernelOrder(0, filters);
    expect(other).to.deep.equal(order);
    expect(other).to.not.equal(order);

    const chains = a.chainsByIndex(device);
    expect([...chains.keys()]).to.deep.equal([0, 7]);
    expect(a.chainsByIndex(device)).to.equal(chains);
    expect(b.chainsByIndex(device)).to.not.equal(chains);

    const keys = a.addressKeysOf(filters[1]!);
    expect(keys).to.deep.equal({ dst: { family: 4, lo: 0x0a000000n, hi: 0x0a0000ffn } });
    expect(a.addressKeysOf(filters[1]!)).to.equal(keys);
    expect(b.addressKeysOf(filters[1]!)).to.deep.equal(keys);
    expect(b.addressKeysOf(filters[1]!)).to.not.equal(keys);
    expect(a.addressKeysOf(filters[0]!)).to.deep.equal({});
  });

  it('parses a /0 and a key that is not a prefix as matching nothing', () => {
    const memo = new SimulatorMemo();
    const f = (srcIp: string): Filter => ({
      prio: 1,
      protocol: 'ip',
      match: { srcIp },
      actions: [{ kind: 'drop' }],
      note: srcIp,
    });
    expect(memo.addressKeysOf(f('0.0.0.0/0'))).to.deep.equal({ src: 'never' });
    expect(memo.addressKeysOf(f('not an address'))).to.deep.equal({ src: 'never' });
  });
});
