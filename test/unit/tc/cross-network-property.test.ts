// Same-node pairs of two managed networks, on random clusters (cluster-gen.ts): a new connection
// from a pod's VF to a pod of the other network on its node passes the VF exactly when the
// reference allows it on both networks, each seeing the other's address as an outside one (the
// sender's egress on its network, the receiver's ingress on its own: what the uplink decides for
// the same sender on another node).

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import type { L4Protocol, ManagedInterface } from '../../../src/policy/types.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { Conntrack } from '../../../src/tc/simulate/packet.js';
import { simulateDevice } from '../../../src/tc/simulate/simulate.js';
import { SimulatorMemo } from '../../../src/tc/simulate/simulator-memo.js';
import { build, clusterArb } from './cluster-gen.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const PROBES: { protocol: L4Protocol; port: number }[] = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'TCP', port: 5432 },
  { protocol: 'UDP', port: 53 },
];

const v6 = (ip: string) => ip.includes(':');

describe('same-node senders of another network (random clusters)', () => {
  it('a VF passes a new connection to a pod of another network as both networks allow it', () => {
    let pairs = 0;
    let denied = 0;
    fc.assert(
      fc.property(clusterArb, (c) => {
        const { snapshot, model } = build(c.objects);
        for (const node of [...snapshot.nodes.keys()].sort()) {
          const p = compileNode(model, node, snapshot.nodes.get(node), DEFAULT_COMPILE_OPTIONS);
          const local = model.interfaces.filter((i) => i.nodeName === node);
          const byKey = new Map<string, ManagedInterface>(local.map((i) => [i.key, i]));
          for (const d of p.devices) {
            if (d.kind !== 'vf') continue;
            const src = byKey.get(d.interfaces[0]!)!;
            for (const dst of local) {
              if (dst.network === src.network) continue;
              for (const dstIp of dst.ips) {
                const srcIp = src.ips.find((ip) => v6(ip) === v6(dstIp));
                if (!srcIp) continue;
                for (const { protocol, port } of PROBES) {
                  const flow = { srcIp, dstIp, protocol, port };
                  const allowed =
                    verdict(model, { ...flow, network: src.network }).verdict === 'allow' &&
                    verdict(model, { ...flow, network: dst.network }).verdict === 'allow';
                  const got = simulateDevice(
                    new SimulatorMemo(),
                    d,
                    {
                      device: d.device,
                      tags: [],
                      ethType: v6(dstIp) ? 'ipv6' : 'ip',
                      srcIp,
                      dstIp,
                      ipProto: protocol === 'TCP' ? 'tcp' : 'udp',
                      srcPort: 40000,
                      dstPort: port,
                    },
                    new Conntrack(),
                  ).verdict;
                  const label = `${node}/${d.device} ${src.key} -> ${dst.key} ${dstIp} ${protocol}/${port}`;
                  expect(got, label).to.equal(allowed ? 'pass' : 'drop');
                  pairs++;
                  if (!allowed) denied++;
                }
              }
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
    // Pairs were compared, denied ones among them (not only open clusters).
    expect(pairs).to.be.greaterThan(RUNS);
    expect(denied).to.be.greaterThan(0);
  });
});
