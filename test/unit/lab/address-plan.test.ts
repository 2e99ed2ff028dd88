// The lab's address plan (test/kernel/lab/address-plan.ts): every pod interface reaches every
// other address of its network, on-link, whatever the layout; the NAD's IPAM subnet gives the
// prefix length when it covers the address.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { parseAddress, parseCidrInterval } from '../../../src/util/ip/index.js';
import { addressPlan, type InterfacePlan } from '../../kernel/lab/address-plan.js';
import { worldObjects, type WorldOptions } from '../../kernel/lab/world.js';

function plan(opts: WorldOptions) {
  const snapshot = buildSnapshot(worldObjects(opts).map((obj) => ({ obj })));
  const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
  return { model, plans: addressPlan(snapshot, model) };
}

function covers(prefixes: string[], ip: string): boolean {
  const a = parseAddress(ip)!;
  return prefixes.some((p) => {
    const c = parseCidrInterval(p)!;
    return c.family === a.family && a.value >= c.interval[0] && a.value <= c.interval[1];
  });
}

/** Every interface has its own addresses and a connected prefix or a route for every other one. */
function expectFullReach(opts: WorldOptions): Map<string, InterfacePlan> {
  const { model, plans } = plan(opts);
  expect(model.interfaces).to.have.length(9);
  for (const i of model.interfaces) {
    const p = plans.get(i.key)!;
    expect(p.addresses.map((a) => a.split('/')[0])).to.deep.equal(i.ips);
    for (const other of model.interfaces) {
      if (other === i) continue;
      for (const ip of other.ips)
        expect(covers([...p.addresses, ...p.routes], ip), `${i.pod} -> ${ip}`).to.equal(true);
    }
  }
  return plans;
}

describe('lab address plan', () => {
  it('pods in different /24s and /64s without IPAM: host prefixes and on-link routes to every other pod', () => {
    const plans = expectFullReach({ layout: 'per-namespace', ipv6: true });
    const first = [...plans.values()][0]!;
    expect(first.addresses).to.deep.equal(['10.20.1.10/32', 'fd00:20:1::a/128']);
    expect(first.routes).to.have.length(16);
    expect(first.routes).to.include.members(['10.20.2.13/32', 'fd00:20:3::12/128']);
  });

  it('uses the IPAM subnet that contains the address, and routes only what it does not cover', () => {
    const plans = expectFullReach({ layout: 'per-namespace', ipv6: true, ipamSubnets: ['10.20.0.0/16'] });
    const first = [...plans.values()][0]!;
    expect(first.addresses).to.deep.equal(['10.20.1.10/16', 'fd00:20:1::a/128']);
    expect(first.routes.every((r) => r.includes(':'))).to.equal(true);
    expect(first.routes).to.have.length(8);
  });

  it('the flat world without IPAM: host prefixes, routes to the eight others per family', () => {
    const plans = expectFullReach({ ipv6: true, ipamSubnets: [] });
    for (const p of plans.values()) expect(p.routes).to.have.length(16);
  });

  it('one subnet for all (the flat world): no routes at all', () => {
    const plans = expectFullReach({ ipv6: true });
    for (const p of plans.values()) {
      expect(p.routes).to.deep.equal([]);
      expect(p.addresses.map((a) => a.split('/')[1])).to.deep.equal(['24', '64']);
    }
  });
});
