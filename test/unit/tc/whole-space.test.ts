// A rule whose peers are "everyone" must not render a /0 address key: the lab kernel matched
// nothing with `src_ip 0.0.0.0/0`, so the compiler leaves the key out instead.

import { expect } from 'chai';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { renderNodeTc } from '../../../src/tc/render/render-tc.js';
import { ClusterSimulator } from '../../../src/tc/simulate/trace.js';
import { clusterObjects, flow, load, policy } from './fixtures.js';

describe('compile: rules that cover every address', () => {
  const objects = clusterObjects([
    policy('x', 'in-any', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP', port: 81 }] }] }),
    policy('x', 'out-any', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ ports: [{ protocol: 'TCP', port: 443 }] }],
    }),
  ]);
  const { snapshot, model } = load(objects);

  it('renders no /0 prefix, on VFs or uplinks', () => {
    for (const node of ['w1', 'w2']) {
      const text = renderNodeTc(
        compileNode(model, node, snapshot.nodes.get(node), DEFAULT_COMPILE_OPTIONS),
        1,
      );
      expect(text).to.not.match(/_ip \S+\/0 /);
    }
  });

  it('still allows exactly what the rules allow', () => {
    const sim = new ClusterSimulator(snapshot, model, DEFAULT_COMPILE_OPTIONS);
    const ok = (f: ReturnType<typeof flow>) => {
      sim.resetConntrack();
      const t = sim.trace(f);
      return t.verdict === 'allow' && t.replyVerdict === 'allow';
    };
    expect(ok(flow('10.0.0.3', '10.0.0.1', 'UDP', 81))).to.equal(true);
    expect(ok(flow('10.0.0.3', '10.0.0.1', 'UDP', 80))).to.equal(false);
    expect(ok(flow('10.0.0.1', '192.0.2.9', 'TCP', 443))).to.equal(true);
    expect(ok(flow('10.0.0.1', '192.0.2.9', 'TCP', 80))).to.equal(false);
  });
});
