// Very large rule sets compile and plan without hitting engine limits: a list of tens of
// thousands of filters is never passed as function arguments (push(...list) overflows the
// argument stack at about 125,000 elements on Node 20).

import { expect } from 'chai';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { planDevice } from '../../../src/tc/apply/plan-device.js';
import { deviceStateOf } from '../../../src/tc/apply/device-state.js';
import { filterCount } from '../../../src/tc/ir.js';
import { clusterObjects, load, policy } from './fixtures.js';

describe('compile: very large policies', () => {
  it('an egress ipBlock with 45,000 excepted addresses compiles to one VF of 135,000+ filters and plans', () => {
    const except: string[] = [];
    for (let i = 0; i < 45000; i++)
      except.push(`10.${(i >> 15) & 255}.${(i >> 7) & 255}.${(i & 127) * 2}/32`);
    const objects = clusterObjects([
      policy('x', 'huge', {
        podSelector: { matchLabels: { pod: 'a' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except } }] }],
      }),
    ]);
    const { snapshot, model } = load(objects);
    const p = compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
    const rep1 = p.devices.find((d) => d.device === 'rep1')!;
    // Each excepted /32 is a hole (a longer prefix) in every frame shape of IPv4.
    expect(filterCount(rep1)).to.be.greaterThan(3 * 45000);
    const plan = planDevice(rep1, deviceStateOf('rep1', undefined, []), DEFAULT_COMPILE_OPTIONS.ctZone);
    expect(plan.lines.length).to.be.greaterThan(3 * 45000);
  });
});
