// deviceForDestinations: an uplink reduced to some of the pods behind it gives, for a packet to
// one of them, the same result as the whole uplink (verdict and the filters hit), and is smaller.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { synthesize } from '../../../bench/synthetic.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import type { DevicePipeline } from '../../../src/tc/ir.js';
import { Conntrack, type Packet } from '../../../src/tc/simulate/packet.js';
import { deviceForDestinations, simulateDevice } from '../../../src/tc/simulate/simulate.js';
import { SimulatorMemo } from '../../../src/tc/simulate/simulator-memo.js';
import { build } from './cluster-gen.js';

const filters = (d: DevicePipeline) => d.chains.reduce((n, c) => n + c.filters.length, 0);

describe('deviceForDestinations', () => {
  it('gives a packet to a chosen pod the whole uplink result, from every source and port', () => {
    const { snapshot, model } = build(
      synthesize({ pods: 300, policies: 30, localInterfaces: 20, otherNodes: 5, namespaces: 4, seed: 7 })
        .objects,
    );
    const node = [...snapshot.nodes.keys()].sort()[1]!;
    const uplink = compileNode(model, node, snapshot.nodes.get(node), DEFAULT_COMPILE_OPTIONS).devices.find(
      (d) => d.kind === 'uplink',
    )!;
    const behind = model.interfaces.filter((i) => uplink.interfaces.includes(i.key));
    const chosen = behind.filter((_, k) => k % 4 === 1);
    // One memo for both devices, as a matrix's simulator has.
    const memo = new SimulatorMemo();
    const reduced = deviceForDestinations(
      memo,
      uplink,
      chosen.flatMap((i) => i.ips),
    );
    expect(filters(reduced)).to.be.lessThan(filters(uplink) / 2);
    let allowed = 0;
    let denied = 0;
    for (const d of chosen) {
      for (const s of model.interfaces.filter((i) => i.network === d.network).slice(0, 60)) {
        for (const [proto, port] of [
          ['tcp', 8080],
          ['tcp', 443],
          ['udp', 53],
        ] as const) {
          for (const ip of d.ips) {
            const src = s.ips.find((x) => x.includes(':') === ip.includes(':'));
            if (!src) continue;
            const p: Packet = {
              device: uplink.device,
              tags: [],
              ethType: ip.includes(':') ? 'ipv6' : 'ip',
              ipProto: proto,
              srcIp: src,
              dstIp: ip,
              srcPort: 40000,
              dstPort: port,
            };
            const want = simulateDevice(memo, uplink, p, new Conntrack());
            const got = simulateDevice(memo, reduced, p, new Conntrack());
            expect(got, `${s.key} -> ${d.key} ${proto}/${port}`).to.deep.equal(want);
            if (want.verdict === 'pass') allowed++;
            else denied++;
          }
        }
      }
    }
    expect(allowed).to.be.greaterThan(0);
    expect(denied).to.be.greaterThan(0);
  });
});
