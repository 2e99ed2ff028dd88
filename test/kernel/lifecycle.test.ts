// The apply layer on a real kernel: untouched traffic, state, tagged frames, a differential check
// against the simulator, make-before-break, cleanup, restart and foreign filters.

import { expect } from 'chai';
import { execa } from 'execa';
import { explainMatrix } from '../../src/cli/explain.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../src/tc/compile/options.js';
import { ClusterSimulator } from '../../src/tc/simulate/trace.js';
import { isOwnedChain } from '../../src/tc/layout.js';
import { buildTopology, type Topology, type TopologyOptions } from './lab/topology.js';
import { Agents, diffMatrix, loadModel, observeMatrix, referenceMatrix, type Matrix } from './lab/observe.js';
import { verdict } from '../../src/policy/verdict.js';
import type { Flow } from '../../src/policy/types.js';
import { runProbes, startServers, type Probe } from './lab/probe.js';
import { agentOnce } from './lab/agent.js';
import { assertLab, sh, tcJson } from './lab/shell.js';
import { NETWORK, policy, worldObjects, worldPods, writeManifests } from './lab/world.js';

const pods = worldPods();
const pod = (ns: string, name: string) => pods.find((p) => p.ns === ns && p.name === name)!;
const base = worldObjects({ ipv6: true });

const denyAll = ['x', 'y', 'z'].map((ns) =>
  policy(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
);
/** x/a may open TCP to x/b on the given ports; both ends isolated in both directions. */
function aToB(ports: number[], protocol: 'TCP' | 'UDP' = 'TCP'): unknown[] {
  return [
    policy('x', 'a-egress', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { pod: 'b' } } }],
          ports: ports.map((port) => ({ protocol, port })),
        },
      ],
    }),
    policy('x', 'b-ingress', {
      podSelector: { matchLabels: { pod: 'b' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { pod: 'a' } } }],
          ports: ports.map((port) => ({ protocol, port })),
        },
      ],
    }),
  ];
}

async function world(opts: TopologyOptions = {}) {
  await assertLab();
  const dir = await writeManifests(base);
  const { snapshot, model } = await loadModel(dir);
  const topo = await buildTopology(snapshot, model, opts);
  await startServers([...topo.podNs.values()], ['TCP', 'UDP'], [80, 81]);
  return { dir, topo, agents: new Agents(topo) };
}

function probe(
  id: string,
  topo: Topology,
  from: [string, string],
  to: [string, string],
  port: number,
  v6 = false,
): Probe {
  const dst = pod(...to);
  return {
    id,
    srcNs: topo.podNs.get(`${from[0]}/${from[1]}`)!,
    dstIp: v6 ? dst.ipv6 : dst.ipv4,
    protocol: 'TCP',
    port,
  };
}

/** Filters of the agent's own ranges (entry or owned chains) on a device. */
async function ownedFilters(nodeNs: string, dev: string): Promise<unknown[]> {
  const all = (await tcJson(nodeNs, `filter show dev ${dev} ingress`)) as {
    chain?: number;
    pref?: number;
    options?: unknown;
  }[];
  return all.filter(
    (f) => f.options && ((f.chain === 0 && f.pref === 1) || (f.chain !== undefined && isOwnedChain(f.chain))),
  );
}

describe('kernel: untouched traffic and state', function () {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(async () => w?.topo.teardown());

  it('ARP and IPv6 neighbour discovery keep working under default deny', async () => {
    await writeManifests([...base, ...denyAll], w.dir);
    await w.agents.apply(w.dir);
    const a = w.topo.podNs.get('x/a')!;
    const b = pod('x', 'b');
    await sh(`ip -n ${a} neigh flush all`);
    const r = await runProbes([
      probe('v4', w.topo, ['x', 'a'], ['x', 'b'], 80),
      probe('v6', w.topo, ['x', 'a'], ['x', 'b'], 80, true),
    ]);
    expect(r.get('v4'), 'TCP is denied').to.equal(false);
    expect(r.get('v6'), 'TCP over IPv6 is denied').to.equal(false);
    const neigh = await sh(`ip -n ${a} neigh show; ip -n ${a} -6 neigh show`);
    expect(neigh).to.match(new RegExp(`${b.ipv4.replace(/\./g, '\\.')} dev net1 lladdr ${b.mac}`));
    expect(neigh).to.match(new RegExp(`${b.ipv6} dev net1 lladdr ${b.mac}`));
  });

  it('replies of an allowed connection pass both ways; a new connection from the other side is dropped', async () => {
    await writeManifests([...base, ...aToB([80])], w.dir);
    await w.agents.apply(w.dir);
    const r = await runProbes([
      probe('a-b-80', w.topo, ['x', 'a'], ['x', 'b'], 80),
      probe('a-b-80-v6', w.topo, ['x', 'a'], ['x', 'b'], 80, true),
      probe('a-b-81', w.topo, ['x', 'a'], ['x', 'b'], 81),
      probe('b-a-80', w.topo, ['x', 'b'], ['x', 'a'], 80),
    ]);
    expect(Object.fromEntries(r)).to.deep.equal({
      'a-b-80': true,
      'a-b-80-v6': true,
      'a-b-81': false,
      'b-a-80': false,
    });
    // x/a (node-1) and x/b (node-2): the connection is tracked on both nodes.
    for (const [node, ns] of w.topo.nodeNs) {
      const ct = await sh(`ip netns exec ${ns} cat /proc/net/nf_conntrack`);
      expect(ct, node).to.match(
        new RegExp(
          `src=${pod('x', 'a').ipv4.replace(/\./g, '\\.')} dst=.* dport=80 .*zone=${DEFAULT_COMPILE_OPTIONS.ctZone}`,
        ),
      );
    }
  });

  it('random flows: the kernel agrees with the simulator on the same filters', async () => {
    const seed = Number(process.env.DIFF_SEED ?? Date.now() % 100000);
    console.log(`      differential seed ${seed} (rerun with DIFF_SEED=${seed})`);
    let s = seed;
    const rnd = (n: number) => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s % n;
    };
    const policies = [
      policy('x', 'x-in', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }],
            ports: [
              { protocol: 'TCP', port: 80 },
              { protocol: 'UDP', port: 81 },
            ],
          },
        ],
      }),
      policy('y', 'y-out', {
        podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['c'] }] },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.1.0.0/28' } }] }, { ports: [{ protocol: 'UDP', port: 81 }] }],
      }),
      policy('z', 'z-in', {
        podSelector: {},
        ingress: [
          {
            from: [
              { podSelector: {} },
              { namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: { matchLabels: { pod: 'b' } } },
            ],
            ports: [{ protocol: 'TCP', port: 'serve-81-tcp' }],
          },
        ],
      }),
    ];
    await writeManifests([...base, ...policies], w.dir);
    await w.agents.apply(w.dir);
    const { snapshot, model } = await loadModel(w.dir);
    const sim = new ClusterSimulator(snapshot, model, DEFAULT_COMPILE_OPTIONS);
    const probes: Probe[] = [];
    const expected = new Map<string, boolean>();
    const reference = new Map<string, boolean>();
    while (probes.length < 40) {
      const src = pods[rnd(pods.length)]!;
      const dst = pods[rnd(pods.length)]!;
      if (src === dst) continue;
      const protocol = rnd(2) === 0 ? 'TCP' : 'UDP';
      const port = 80 + rnd(2);
      const id = `${src.ns}/${src.name}->${dst.ns}/${dst.name}:${protocol}/${port}#${probes.length}`;
      sim.resetConntrack();
      const flow: Flow = { network: NETWORK, srcIp: src.ipv4, dstIp: dst.ipv4, protocol, port };
      const t = sim.trace(flow);
      expected.set(id, t.verdict === 'allow' && t.replyVerdict === 'allow');
      reference.set(id, verdict(model, flow).verdict === 'allow');
      probes.push({ id, srcNs: w.topo.podNs.get(`${src.ns}/${src.name}`)!, dstIp: dst.ipv4, protocol, port });
    }
    const simVsRef = probes
      .filter((p) => reference.get(p.id) !== expected.get(p.id))
      .map((p) => `${p.id}: reference ${reference.get(p.id)}, simulator ${expected.get(p.id)}`);
    expect(simVsRef, 'simulated vs reference').to.deep.equal([]);
    const observed = await runProbes(probes);
    const diff = probes
      .filter((p) => observed.get(p.id) !== expected.get(p.id))
      .map((p) => `${p.id}: simulator ${expected.get(p.id)}, kernel ${observed.get(p.id)}`);
    expect(diff).to.deep.equal([]);
    expect([...expected.values()].filter((v) => v).length, 'some flows allowed').to.be.greaterThan(0);
    expect([...expected.values()].filter((v) => !v).length, 'some flows denied').to.be.greaterThan(0);
  });
});

/** Cells `m` allows that the reference denies. */
function allowedOnlyBy(reference: Matrix, m: Matrix): string[] {
  const out: string[] = [];
  for (const [s, row] of Object.entries(m))
    for (const [d, v] of Object.entries(row))
      if (v === 'allow' && reference[s]?.[d] !== 'allow') out.push(`${s} -> ${d}`);
  return out;
}

describe('kernel: tagged frames', function () {
  const scenario = [
    policy('x', 'x-from-y', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
    }),
    ...aToB([80]),
  ];
  for (const [name, opts, tags] of [
    ['802.1Q', { vlan: { id: 100 } }, ['802.1q']],
    ['QinQ (802.1ad + 802.1Q)', { vlan: { id: 100, qinqOuter: 200 } }, ['802.1ad', '802.1q']],
  ] as const) {
    it(`IP inside ${name} gets the verdicts the pipeline promises for it`, async () => {
      const w = await world(opts);
      try {
        await writeManifests([...base, ...scenario], w.dir);
        await w.agents.apply(w.dir);
        const { snapshot, model } = await loadModel(w.dir);
        const expected = explainMatrix(snapshot, model, DEFAULT_COMPILE_OPTIONS, {
          protocol: 'TCP',
          port: 80,
          network: NETWORK,
          tags: [...tags],
        }).matrix;
        const untagged = explainMatrix(snapshot, model, DEFAULT_COMPILE_OPTIONS, {
          protocol: 'TCP',
          port: 80,
          network: NETWORK,
        }).matrix;
        const reference = referenceMatrix(model, NETWORK, 'TCP', 80);
        expect(diffMatrix(reference, untagged), 'untagged: simulated vs reference').to.deep.equal([]);
        if (tags.length === 1)
          expect(expected, '802.1Q verdicts equal untagged ones').to.deep.equal(untagged);
        // QinQ is judged without conntrack (the reply too): it never allows what the reference denies.
        else
          expect(allowedOnlyBy(reference, expected), 'QinQ: allowed beyond the reference').to.deep.equal([]);
        const observed = await observeMatrix(model, w.topo, NETWORK, 'TCP', 80);
        expect(diffMatrix(expected, observed)).to.deep.equal([]);
        expect(Object.values(observed).some((row) => Object.values(row).includes('allow'))).to.equal(true);
        expect(Object.values(observed).some((row) => Object.values(row).includes('deny'))).to.equal(true);
      } finally {
        await w.topo.teardown();
      }
    });
  }
});

describe('kernel: updates, cleanup, restart, foreign filters', function () {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(async () => w?.topo.teardown());

  it('make-before-break: probes during rule changes only ever see the old or the new verdict', async () => {
    // UDP: one datagram each way, no retransmission that could hide a dropped packet.
    const A = [...base, ...aToB([80, 81], 'UDP')];
    const B = [...base, ...aToB([81], 'UDP')];
    await writeManifests(A, w.dir);
    await w.agents.apply(w.dir);
    const a = w.topo.podNs.get('x/a')!;
    const c = w.topo.podNs.get('x/c')!;
    const bIp = pod('x', 'b').ipv4;
    // Probe continuously in the background: UDP 81 from x/a is allowed by A and B; from x/c by neither.
    const loop = execa('bash', [
      '-c',
      `while [[ ! -e /tmp/mbb-stop ]]; do
         o=$(echo p | ip netns exec ${a} timeout 6 socat -T3 - UDP4:${bIp}:81 2>/dev/null); [[ $o == *p* ]] && echo "a ok" || echo "a fail"
         o=$(echo p | ip netns exec ${c} timeout 3 socat -T1 - UDP4:${bIp}:81 2>/dev/null); [[ $o == *p* ]] && echo "c ok" || echo "c fail"
       done`,
    ]);
    await sh('rm -f /tmp/mbb-stop; sleep 1');
    let writes = 0;
    for (const m of [B, A, B, A, B]) {
      await writeManifests(m, w.dir);
      writes += await w.agents.apply(w.dir);
    }
    await sh('sleep 1; touch /tmp/mbb-stop');
    const out = (await loop).stdout.split('\n').filter(Boolean);
    await sh('rm -f /tmp/mbb-stop');
    expect(writes, 'the switches wrote rules').to.be.greaterThan(0);
    expect(out.filter((l) => l.startsWith('a')).length, 'probes ran during the switches').to.be.greaterThan(
      5,
    );
    expect(
      out.filter((l) => l === 'a fail'),
      'x/a -> x/b:81 is allowed by both rule sets',
    ).to.deep.equal([]);
    expect(
      out.filter((l) => l === 'c ok'),
      'x/c -> x/b:81 is allowed by neither',
    ).to.deep.equal([]);
    // The last set (B) is what holds now: UDP 81 passes, UDP 80 does not.
    const udp = async (port: number) =>
      (
        await sh(`echo p | ip netns exec ${a} timeout 6 socat -T3 - UDP4:${bIp}:${port} 2>/dev/null`, {
          allowFail: true,
        })
      ).includes('p');
    const r = new Map([
      ['80', await udp(80)],
      ['81', await udp(81)],
    ]);
    expect(Object.fromEntries(r)).to.deep.equal({ '80': false, '81': true });
  });

  it('per-chain update of one port chain: the other chains keep their numbers, probes see old or new, a restart writes nothing', async () => {
    // x/a may send UDP to x/b and to x/c; only the ports towards x/b change, so on x/a's
    // representor only that port chain (and the path above it) is written again.
    const egress = (toB: number[]) =>
      policy('x', 'a-egress', {
        podSelector: { matchLabels: { pod: 'a' } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ podSelector: { matchLabels: { pod: 'b' } } }],
            ports: toB.map((port) => ({ protocol: 'UDP', port })),
          },
          { to: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ protocol: 'UDP', port: 80 }] },
        ],
      });
    const A = [...base, egress([81])];
    const B = [...base, egress([80, 81])];
    const a = pod('x', 'a');
    const aNode = w.topo.nodeNs.get(a.node)!;
    /** x/a's chains by number: their filters' keys and verdicts, goto targets left out. */
    const chains = async () => {
      const all = (await tcJson(aNode, `filter show dev ${a.rep} ingress`)) as {
        chain?: number;
        options?: { keys?: Record<string, unknown>; actions?: { control_action?: { type?: string } }[] };
      }[];
      const out = new Map<number, string[]>();
      for (const f of all) {
        if (!f.options || f.chain === undefined || !isOwnedChain(f.chain)) continue;
        const verdicts = (f.options.actions ?? []).map((x) => x.control_action?.type);
        out.set(
          f.chain,
          [...(out.get(f.chain) ?? []), JSON.stringify([f.options.keys ?? {}, verdicts])].sort(),
        );
      }
      return out;
    };
    const portChain = (m: Map<number, string[]>, ports: number[]) =>
      [...m].filter(([, fs]) => {
        const seen = new Set(
          fs.flatMap((x) => [...x.matchAll(/"dst_port":(\d+)/g)].map((p) => Number(p[1]))),
        );
        return seen.size === ports.length && ports.every((p) => seen.has(p));
      });
    await writeManifests(A, w.dir);
    await w.agents.apply(w.dir);
    const before = await chains();
    const toC = portChain(before, [80]);
    // One port chain per address family for each destination.
    expect(toC, 'port chains of UDP 80 (towards x/c)').to.have.length(2);
    expect(portChain(before, [81]), 'port chains of UDP 81 (towards x/b)').to.have.length(2);
    const keptFilters = toC.reduce((k, [, fs]) => k + fs.length, 0);

    const aNs = w.topo.podNs.get('x/a')!;
    const bIp = pod('x', 'b').ipv4;
    const cIp = pod('x', 'c').ipv4;
    const udp = (tag: string, ip: string, port: number, wait: number) =>
      `o=$(echo p | ip netns exec ${aNs} timeout ${wait + 3} socat -T${wait} - UDP4:${ip}:${port} 2>/dev/null); [[ $o == *p* ]] && echo "${tag} ok" || echo "${tag} fail"`;
    // Allowed by both sets: x/a -> x/b:81 and x/a -> x/c:80; allowed by neither: x/a -> x/c:81.
    // Each finished round of probes appends one line to /tmp/pc-rounds: the updates start after
    // a first round and the probing stops after two more rounds than the updates ended at, so the
    // probes surely overlap the updates, however fast or slow the emulation is.
    const loop = execa('bash', [
      '-c',
      `while [[ ! -e /tmp/pc-stop ]]; do
         ${udp('b81', bIp, 81, 3)}
         ${udp('c80', cIp, 80, 3)}
         ${udp('c81', cIp, 81, 1)}
         echo >> /tmp/pc-rounds
       done`,
    ]);
    const rounds = async () => Number((await sh('cat /tmp/pc-rounds 2>/dev/null | wc -l')).trim());
    const untilRounds = async (n: number) => {
      for (let i = 0; i < 600 && (await rounds()) < n; i++) await new Promise((r) => setTimeout(r, 100));
    };
    await sh('rm -f /tmp/pc-stop /tmp/pc-rounds');
    await untilRounds(1);
    let last = before;
    for (const m of [B, A]) {
      await writeManifests(m, w.dir);
      const n = await w.agents.apply(w.dir);
      const now = await chains();
      // The chains towards x/c did not change: same numbers, same filters, every time.
      expect(portChain(now, [80]), 'the UDP 80 chains keep their numbers').to.deep.equal(toC);
      // Every other chain is on the path to the changed one: written anew, the old ones deleted
      // after the switch. Only x/a's representor changes.
      const filters = [...now.values()].reduce((k, fs) => k + fs.length, 0);
      expect(n, 'lines: the new chains, the switch, the deletes').to.equal(
        filters - keptFilters + 1 + (last.size - toC.length),
      );
      expect([...now.keys()].filter((c) => last.has(c)).sort(), 'only the UDP 80 chains stay').to.deep.equal(
        toC.map(([c]) => c).sort(),
      );
      last = now;
    }
    const ended = await rounds();
    await untilRounds(ended + 2);
    await sh('touch /tmp/pc-stop');
    const out = (await loop).stdout.split('\n').filter(Boolean);
    await sh('rm -f /tmp/pc-stop /tmp/pc-rounds');
    expect(
      out.filter((l) => l.startsWith('b81')).length,
      'probes ran before, during and after the updates',
    ).to.be.at.least(ended + 2);
    expect(
      out.filter((l) => l === 'b81 fail' || l === 'c80 fail' || l === 'c81 ok'),
      'a verdict neither rule set gives',
    ).to.deep.equal([]);
    // A restart over per-chain-updated devices: fresh agents (new reconcilers, nothing
    // remembered) read the kernel back and write nothing.
    expect(await new Agents(w.topo).apply(w.dir), 'lines written after a restart').to.equal(0);
  });

  it('a restarted agent over its own rules writes nothing', async () => {
    await writeManifests([...base, ...aToB([80])], w.dir);
    await w.agents.apply(w.dir);
    for (const [node, ns] of w.topo.nodeNs) {
      const r = await agentOnce(w.dir, node, ns);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.writes, `${node}: ${r.stderr}`).to.equal(0);
    }
  });

  it('foreign filters survive install, update and cleanup; cleaned devices are back to no qdisc', async () => {
    const b = pod('x', 'b');
    const bNode = w.topo.nodeNs.get(b.node)!;
    const a = pod('x', 'a');
    const aNode = w.topo.nodeNs.get(a.node)!;
    // Start from a clean slate on x/b's representor, then add someone else's filters on both hooks.
    await writeManifests(base, w.dir);
    await w.agents.apply(w.dir);
    await sh(
      `ip netns exec ${bNode} tc qdisc add dev ${b.rep} clsact 2>/dev/null || true
       ip netns exec ${bNode} tc filter add dev ${b.rep} ingress protocol ip pref 500 chain 7 flower ip_proto udp dst_port 9999 action gact pass
       ip netns exec ${bNode} tc filter add dev ${b.rep} ingress protocol ip pref 700 flower ip_proto udp dst_port 9997 action gact pass
       ip netns exec ${bNode} tc filter add dev ${b.rep} egress protocol ip pref 5 flower ip_proto udp dst_port 9998 action gact pass`,
    );
    const foreign = async () => {
      const ing = (await tcJson(bNode, `filter show dev ${b.rep} ingress`)) as {
        chain?: number;
        pref?: number;
        options?: unknown;
      }[];
      const eg = (await tcJson(bNode, `filter show dev ${b.rep} egress`)) as { options?: unknown }[];
      return {
        ingress: ing.filter((f) => f.options && (f.pref === 500 || f.pref === 700)).length,
        egress: eg.filter((f) => f.options).length,
      };
    };
    for (const m of [aToB([80]), aToB([81]), []]) {
      await writeManifests([...base, ...m], w.dir);
      await w.agents.apply(w.dir);
      expect(await foreign()).to.deep.equal({ ingress: 2, egress: 1 });
    }
    // Cleanup left none of the agent's filters; the qdisc stays where foreign filters need it,
    // and is gone where the agent had added it.
    expect(await ownedFilters(bNode, b.rep)).to.deep.equal([]);
    expect(await ownedFilters(aNode, a.rep)).to.deep.equal([]);
    const qa = (await tcJson(aNode, `qdisc show dev ${a.rep}`)) as { kind?: string }[];
    expect(qa.map((q) => q.kind)).to.not.include('clsact');
    const qb = (await tcJson(bNode, `qdisc show dev ${b.rep}`)) as { kind?: string }[];
    expect(qb.map((q) => q.kind)).to.include('clsact');
  });

  it('the representor of a deleted pod is cleaned up', async () => {
    await writeManifests([...base, ...denyAll], w.dir);
    await w.agents.apply(w.dir);
    const c = pod('x', 'c');
    const cNode = w.topo.nodeNs.get(c.node)!;
    expect((await ownedFilters(cNode, c.rep)).length, 'x/c is filtered').to.be.greaterThan(0);
    const withoutC = base.filter(
      (o) =>
        !(
          (o as { kind: string; metadata: { name: string; namespace?: string } }).kind === 'Pod' &&
          (o as { metadata: { name: string; namespace?: string } }).metadata.name === 'c' &&
          (o as { metadata: { namespace?: string } }).metadata.namespace === 'x'
        ),
    );
    await writeManifests([...withoutC, ...denyAll], w.dir);
    await w.agents.apply(w.dir);
    expect(await ownedFilters(cNode, c.rep)).to.deep.equal([]);
    const q = (await tcJson(cNode, `qdisc show dev ${c.rep}`)) as { kind?: string }[];
    expect(q.map((x) => x.kind)).to.not.include('clsact');
  });
});
