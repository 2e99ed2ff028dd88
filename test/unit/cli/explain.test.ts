// `explain` on the worked example (examples/worked): one flow in text and JSON, and the truth
// table of the network, through the functions and through the command line. The example names
// the uplink p0 and a representor eth1 on both nodes, so a flow between nodes must still cross
// the destination node's uplink.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { before, describe, it } from 'mocha';
import { explainFlow, explainMatrix, UsageError } from '../../../src/cli/explain.js';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { PolicyModel } from '../../../src/policy/types.js';
import { verdict as referenceVerdict } from '../../../src/policy/verdict.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';

const run = promisify(execFile);
const DIR = 'examples/worked';
const NET = 'demo/net1';
const IP: Record<string, string> = {
  'demo/db': '10.10.0.3',
  'demo/api': '10.10.0.2',
  'demo/web': '10.10.0.4',
};

interface Hop {
  node: string;
  device: string;
  verdict: string;
  hits: { chain: number; prio: number; note: string; tc: string }[];
}

let snapshot: ClusterSnapshot;
let model: PolicyModel;

before(async () => {
  snapshot = await loadSnapshotFromDir(DIR);
  model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
});

const explain = (from: string, to: string, port = 5432) =>
  explainFlow(snapshot, model, DEFAULT_COMPILE_OPTIONS, { from, to, protocol: 'TCP', port });

const cli = async (...args: string[]) =>
  (await run(process.execPath, ['build/src/cli/main.js', 'explain', '--manifests', DIR, ...args])).stdout;

describe('explain: one flow', () => {
  it('an allowed flow inside a node: JSON verdict, flow, reference, the deciding filter, the reply', () => {
    const r = explain('demo/api', 'demo/db');
    expect(r.verdict).to.equal('allow');
    const json = r.json as {
      verdict: string;
      flow: Record<string, unknown>;
      reference: { verdict: string };
      forward: Hop[];
      reply: Hop[];
    };
    expect(json.verdict).to.equal('allow');
    expect(json.flow).to.deep.include({
      network: NET,
      from: 'demo/api',
      to: 'demo/db',
      srcIp: IP['demo/api'],
      dstIp: IP['demo/db'],
      protocol: 'TCP',
      port: 5432,
    });
    expect(json.reference.verdict).to.equal('allow');
    expect(json.forward.map((h) => `${h.node}/${h.device}:${h.verdict}`)).to.deep.equal(['node-a/eth2:pass']);
    const last = json.forward[0]!.hits.at(-1)!;
    expect(last.tc).to.equal(
      'filter add dev eth2 ingress protocol ip pref 10 chain 10003 flower ip_proto tcp dst_port 5432 action ct commit zone 19790 pipe action gact pass',
    );
    expect(json.reply.map((h) => `${h.node}/${h.device}:${h.verdict}`)).to.deep.equal(['node-a/eth1:pass']);
    expect(json.reply[0]!.hits.map((h) => h.note)).to.include('packet of an established connection');
  });

  it('an allowed flow in text: verdict, flow, the rule that allows it, each device', () => {
    const lines = explain('demo/api', 'demo/db').text.split('\n');
    expect(lines[0]).to.equal('verdict: allow');
    expect(lines).to.include.members([
      'flow: demo/api (10.10.0.2) -> demo/db (10.10.0.3) TCP/5432 on demo/net1',
      '  allowed by demo/db-from-api ingress[0]',
      'packet: node node-a, device eth2: pass',
      'reply: node node-a, device eth1: pass',
    ]);
  });

  it('a denied flow from another node crosses the destination node uplink and stops there', () => {
    const r = explain('demo/web', 'demo/db');
    expect(r.verdict).to.equal('deny');
    const json = r.json as { verdict: string; forward: Hop[]; reply: Hop[] };
    expect(json.verdict).to.equal('deny');
    expect(json.forward.map((h) => `${h.node}/${h.device}:${h.verdict}`)).to.deep.equal([
      'node-b/eth1:pass',
      'node-a/p0:drop',
    ]);
    expect(json.reply).to.deep.equal([]);
    const lines = r.text.split('\n');
    expect(lines[0]).to.equal('verdict: deny');
    expect(lines).to.include.members([
      'packet: node node-b, device eth1: pass (no filters on this device)',
      'packet: node node-a, device p0: drop',
      '    tc filter add dev p0 ingress protocol all pref 1314 chain 10003 flower action gact drop',
    ]);
    expect(lines.some((l) => l.startsWith('reply:'))).to.equal(false);
  });

  it('a port no rule allows is denied on the VF, with the port chain drop', () => {
    const r = explain('demo/api', 'demo/db', 5433);
    expect(r.verdict).to.equal('deny');
    expect(r.text).to.contain('packet: node node-a, device eth2: drop');
  });

  it('refuses endpoints it cannot place', () => {
    expect(() => explain('demo/nope', 'demo/db')).to.throw(UsageError, /no managed network joins/);
    expect(() =>
      explainFlow(snapshot, model, DEFAULT_COMPILE_OPTIONS, {
        from: 'demo/api',
        to: 'demo/db',
        protocol: 'TCP',
        port: 5432,
        family: 6,
      }),
    ).to.throw(UsageError, /no IPv6 address/);
  });

  it('takes the address family of an endpoint given as an address, never mixing families', () => {
    // The pod's IPv4 address with an IPv6 destination would be a packet no host sends.
    expect(() => explain('demo/api', 'fd00::99')).to.throw(UsageError, /demo\/api has no IPv6 address/);
    expect(() => explain('fd00::99', 'demo/db')).to.throw(UsageError, /demo\/db has no IPv6 address/);
    expect(() =>
      explainFlow(snapshot, model, DEFAULT_COMPILE_OPTIONS, {
        from: '10.10.0.2',
        to: 'fd00::99',
        protocol: 'TCP',
        network: NET,
      }),
    ).to.throw(UsageError, /different address families/);
    expect(() =>
      explainFlow(snapshot, model, DEFAULT_COMPILE_OPTIONS, {
        from: 'demo/api',
        to: '10.10.0.99',
        protocol: 'TCP',
        family: 6,
      }),
    ).to.throw(UsageError, /not an IPv6 address/);
    const r = explain('demo/api', '10.10.0.99');
    expect((r.json as { flow: { srcIp: string } }).flow.srcIp).to.equal(IP['demo/api']);
  });

  it('the command prints the same, in text and in JSON', async () => {
    const args = ['--from', 'demo/web', '--to', 'demo/db', '--port', '5432'];
    expect(await cli(...args)).to.equal(explain('demo/web', 'demo/db').text);
    const json = JSON.parse(await cli(...args, '--format', 'json')) as { verdict: string };
    expect(json).to.deep.equal(JSON.parse(JSON.stringify(explain('demo/web', 'demo/db').json)));
    expect(json.verdict).to.equal('deny');
  });
});

describe('explain: the matrix', () => {
  const EXPECTED = {
    'demo/api': { 'demo/db': 'allow', 'demo/web': 'allow' },
    'demo/db': { 'demo/api': 'allow', 'demo/web': 'allow' },
    'demo/web': { 'demo/api': 'allow', 'demo/db': 'deny' },
  };

  it('gives every ordered pair of pods, in agreement with the reference', () => {
    const m = explainMatrix(snapshot, model, DEFAULT_COMPILE_OPTIONS, { protocol: 'TCP', port: 5432 });
    expect(m).to.deep.equal({ network: NET, protocol: 'TCP', port: 5432, matrix: EXPECTED });
    for (const [src, row] of Object.entries(m.matrix)) {
      for (const [dst, cell] of Object.entries(row)) {
        const flow = { network: NET, srcIp: IP[src]!, dstIp: IP[dst]!, protocol: 'TCP' as const, port: 5432 };
        expect(referenceVerdict(model, flow).verdict, `${src} -> ${dst}`).to.equal(cell);
      }
    }
  });

  it('on another port only the policy isolation remains: nobody reaches db', () => {
    const m = explainMatrix(snapshot, model, DEFAULT_COMPILE_OPTIONS, { protocol: 'TCP', port: 80 });
    expect(m.matrix['demo/api']!['demo/db']).to.equal('deny');
    expect(m.matrix['demo/web']!['demo/db']).to.equal('deny');
    expect(m.matrix['demo/db']!['demo/web']).to.equal('allow');
  });

  it('the command prints it as JSON and as a table', async () => {
    const json = JSON.parse(await cli('--matrix', '--port', '5432', '--format', 'json')) as unknown;
    expect(json).to.deep.equal({ network: NET, protocol: 'TCP', port: 5432, matrix: EXPECTED });
    const text = await cli('--matrix', '--port', '5432');
    expect(text.split('\n')).to.include.members([
      '0 demo/api   -  .  .',
      '1 demo/db    .  -  .',
      '2 demo/web   .  X  -',
      '(. allow, X deny, - self)',
    ]);
  });
});
