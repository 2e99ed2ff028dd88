// A VF's chain +2 split per address block (CompileOptions.overrideBlockSplit): its shape, that it
// decides as the unsplit chain does, and what a label change then writes (only the changed
// block's chain and the path above it); then the same with the second dispatch level, each block
// chain split per sub-block (CompileOptions.overrideSubBlockSplit).

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { deviceStateOf } from '../../../src/tc/apply/device-state.js';
import { parseFilterDump } from '../../../src/tc/apply/parse-filters.js';
import { planDevice } from '../../../src/tc/apply/plan-device.js';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import { diffSnapshots } from '../../../src/cluster/snapshot-diff.js';
import { ModelIndexes } from '../../../src/policy/model-index.js';
import { updatePolicyModel } from '../../../src/policy/update-model.js';
import { compileNode, NodeCompiler } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import type { Chain, DevicePipeline } from '../../../src/tc/ir.js';
import { ClusterSimulator } from '../../../src/tc/simulate/trace.js';
import { ACCEL, clusterObjects, flow, load, PLUGIN, policy, type PodDef } from './fixtures.js';
import { deviceDump } from './tc-json.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;
const SPLIT: CompileOptions = { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: 0 };

// The client's VF (rcl) sees six servers of its node whose ingress is isolated: three in
// 10.0.0.0/24 (also in fd00::/120), two in 10.0.1.0/24, one alone in 10.0.2.0/24.
const server = (name: string, ips: string[], rep: string, app = 'srv'): PodDef => ({
  ns: 'x',
  name,
  node: 'w1',
  network: ACCEL,
  ips,
  rep,
  labels: { app },
});
const PODS = (changed = 'srv', extra: PodDef[] = []): PodDef[] => [
  {
    ns: 'x',
    name: 'cl',
    node: 'w1',
    network: ACCEL,
    ips: ['10.0.0.100', 'fd00::100'],
    rep: 'rcl',
    labels: { app: 'client' },
  },
  server('s1', ['10.0.0.10', 'fd00::a'], 'r1'),
  server('s2', ['10.0.0.20', 'fd00::14'], 'r2', changed),
  server('s3', ['10.0.0.30', 'fd00::1e'], 'r3'),
  server('s4', ['10.0.1.10'], 'r4'),
  server('s5', ['10.0.1.20'], 'r5'),
  server('s6', ['10.0.2.10'], 'r6'),
  ...extra,
];
const POLICY = policy('x', 'srv-from-client', {
  podSelector: { matchLabels: { app: 'srv' } },
  policyTypes: ['Ingress'],
  ingress: [
    { from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
  ],
});

function client(opts: CompileOptions, changed?: string, extra?: PodDef[]): DevicePipeline {
  const { snapshot, model } = load(clusterObjects([POLICY], PODS(changed, extra)));
  const d = compileNode(model, 'w1', snapshot.nodes.get('w1'), opts).devices.find((x) => x.device === 'rcl');
  if (!d) throw new Error('no device rcl');
  return d;
}

const chainAt = (d: DevicePipeline, index: number): Chain => d.chains.find((c) => c.index === index)!;
const gotoOf = (f: Chain['filters'][number]): number | undefined => {
  const g = f.actions.find((a) => a.kind === 'goto');
  return g?.kind === 'goto' ? g.chain : undefined;
};
const isBlock = (c: Chain) => c.purpose.includes('to pods of this node in');
const isRest = (c: Chain) => c.purpose.includes('to any other destination');

describe('chain +2 split per address block', () => {
  it('keeps a small override section whole at the default threshold, and splits it when forced', () => {
    const whole = client(DEFAULT_COMPILE_OPTIONS);
    expect(whole.chains.some(isBlock)).to.equal(false);
    const split = client(SPLIT);
    const blocks = split.chains.filter(isBlock);
    expect(blocks.map((c) => c.purpose.replace(/.* in /, ''))).to.deep.equal([
      '10.0.0.0/24',
      '10.0.1.0/24',
      'fd00::/120',
    ]);
    expect(split.chains.filter(isRest)).to.have.length(1);
    // The threshold: more override filters than overrideBlockSplit split the section.
    const overrides = chainAt(whole, 2).filters.filter((f) => f.prio < 20).length;
    expect(overrides).to.equal(3 * 9); // 6 IPv4 + 3 IPv6 addresses, three frame shapes each
    expect(
      client({ ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: overrides }).chains.some(isBlock),
    ).to.equal(false);
    expect(
      client({ ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: overrides - 1 }).chains.some(isBlock),
    ).to.equal(true);
  });

  it('dispatches per block and frame shape, keeps a lone address inline, and ends every path in the rest chain', () => {
    const d = client(SPLIT);
    const rest = d.chains.find(isRest)!;
    const byTarget = (c: Chain) =>
      c.filters.map((f) => `${f.prio} ${f.protocol} ${f.match.dstIp ?? '-'} -> ${gotoOf(f)}`);
    const blockNo = (cidr: string) => d.chains.find((c) => c.purpose.endsWith(` in ${cidr}`))!.index;
    const ports = chainAt(d, 2).filters.find((f) => f.match.dstIp === '10.0.2.10/32')!;
    const portChain = gotoOf(ports)!;
    expect(chainAt(d, portChain).purpose).to.equal('ports TCP/5432 (IPv4)');
    expect(byTarget(chainAt(d, 2))).to.have.members([
      `10 ip 10.0.0.0/24 -> ${blockNo('10.0.0.0/24')}`,
      `10 ip 10.0.1.0/24 -> ${blockNo('10.0.1.0/24')}`,
      `10 ip 10.0.2.10/32 -> ${portChain}`,
      `11 ipv6 fd00::/120 -> ${blockNo('fd00::/120')}`,
      `12 802.1q 10.0.0.0/24 -> ${blockNo('10.0.0.0/24')}`,
      `12 802.1q 10.0.1.0/24 -> ${blockNo('10.0.1.0/24')}`,
      `12 802.1q 10.0.2.10/32 -> ${portChain}`,
      `12 802.1q fd00::/120 -> ${blockNo('fd00::/120')}`,
      `13 802.1ad 10.0.0.0/24 -> ${blockNo('10.0.0.0/24')}`,
      `13 802.1ad 10.0.1.0/24 -> ${blockNo('10.0.1.0/24')}`,
      `13 802.1ad 10.0.2.10/32 -> ${portChain}`,
      `13 802.1ad fd00::/120 -> ${blockNo('fd00::/120')}`,
      `1314 all - -> ${rest.index}`,
    ]);
    const block = chainAt(d, blockNo('10.0.1.0/24'));
    expect(byTarget(block)).to.deep.equal([
      `10 ip 10.0.1.10/32 -> ${portChain}`,
      `10 ip 10.0.1.20/32 -> ${portChain}`,
      `12 802.1q 10.0.1.10/32 -> ${portChain}`,
      `12 802.1q 10.0.1.20/32 -> ${portChain}`,
      `13 802.1ad 10.0.1.10/32 -> ${portChain}`,
      `13 802.1ad 10.0.1.20/32 -> ${portChain}`,
      `1314 all - -> ${rest.index}`,
    ]);
    // The client's egress is not isolated: the rest chain accepts.
    expect(rest.filters.at(-1)!.actions.map((a) => a.kind)).to.deep.equal(['ct', 'pass']);
    // Every goto goes forward (mlx5 prefers it), block chains never back to chain +2.
    for (const c of d.chains) {
      for (const f of c.filters) {
        const to = gotoOf(f);
        if (to !== undefined) expect(to, `${c.purpose}: goto ${to}`).to.be.greaterThan(c.index);
      }
    }
  });

  it('decides as the unsplit chain does (simulator, every server, two ports, three frame shapes)', () => {
    const { snapshot, model } = load(clusterObjects([POLICY], PODS()));
    const whole = new ClusterSimulator(snapshot, model, DEFAULT_COMPILE_OPTIONS);
    const split = new ClusterSimulator(snapshot, model, SPLIT);
    let allowed = 0;
    for (const dst of [
      '10.0.0.10',
      '10.0.0.20',
      '10.0.0.30',
      '10.0.1.10',
      '10.0.1.20',
      '10.0.2.10',
      'fd00::a',
    ]) {
      for (const port of [5432, 80]) {
        const src = dst.includes(':') ? 'fd00::100' : '10.0.0.100';
        for (const tags of [[], ['802.1q'], ['802.1ad', '802.1q']] as const) {
          whole.resetConntrack();
          split.resetConntrack();
          const f = flow(src, dst, 'TCP', port);
          const a = whole.send(f, 'forward', { tags: [...tags] }).verdict;
          expect(
            split.send(f, 'forward', { tags: [...tags] }).verdict,
            `${dst}:${port} ${tags.join('/')}`,
          ).to.equal(a);
          expect(a).to.equal(port === 5432 ? 'allow' : 'deny');
          if (a === 'allow') allowed++;
        }
      }
    }
    expect(allowed).to.equal(7 * 3);
  });

  it('a label change inside one block rewrites that block chain, +2, +1, +0, the switch and the deletes', () => {
    const before = client(SPLIT);
    // s2 (10.0.0.20, fd00::14) leaves the policy: blocks 10.0.0.0/24 and fd00::/120 change.
    const after = client(SPLIT, 'other');
    const state = deviceStateOf(
      'rcl',
      'clsact',
      parseFilterDump(
        JSON.parse(JSON.stringify(deviceDump(before, { gen: 0, ctZone: ZONE }))) as unknown[],
        ZONE,
      ),
    );
    const plan = planDevice(after, state, ZONE);
    const relative = new Map(plan.chains!.map((abs, rel) => [abs, rel]));
    const written = new Set<number>();
    for (const l of plan.lines) {
      const m = /^filter add .* chain (\d+) flower/.exec(l);
      if (m) written.add(relative.get(Number(m[1]))!);
    }
    const purpose = (rel: number) => chainAt(after, rel).purpose.replace(/.* in /, '');
    expect([...written].sort((a, b) => a - b).map(purpose)).to.deep.equal([
      chainAt(after, 0).purpose,
      chainAt(after, 1).purpose,
      chainAt(after, 2).purpose,
      '10.0.0.0/24',
      'fd00::/120',
    ]);
    const adds = plan.lines.filter((l) => l.startsWith('filter add')).length;
    const sizes = [...written].reduce((n, rel) => n + chainAt(after, rel).filters.length, 0);
    expect(adds).to.equal(sizes);
    expect(plan.lines.filter((l) => l.startsWith('filter replace'))).to.have.length(1);
    expect(plan.lines.filter((l) => l.startsWith('chain del'))).to.have.length(5);
    // The unchanged block, the rest chain and the port chain keep their numbers (10000 + i).
    const kept = after.chains.filter((c) => !written.has(c.index));
    expect(kept.map((c) => c.purpose.replace(/.* in /, ''))).to.include.members([
      '10.0.1.0/24',
      'ports TCP/5432 (IPv4)',
    ]);
    for (const c of kept) expect(plan.chains![c.index]).to.be.below(20000);
  });
});

describe('block chains split per sub-block (the second dispatch level)', () => {
  const SUB: CompileOptions = { ...SPLIT, overrideSubBlockSplit: 0 };
  // Two more servers in 10.0.0.32/27: block 10.0.0.0/24 then holds two sub-blocks of overrides.
  const EXTRA = [server('s7', ['10.0.0.40'], 'r7'), server('s8', ['10.0.0.50'], 'r8')];
  const where = (c: Chain) => c.purpose.replace(/.* in /, '');
  const isLeaf = (c: Chain) => c.purpose.includes(' in sub-block ');

  it('splits a block chain with more override filters than overrideSubBlockSplit, and decides the same', () => {
    const d = client(SUB, undefined, EXTRA);
    expect(d.chains.filter(isLeaf).map(where)).to.deep.equal([
      'sub-block 10.0.0.0/27',
      'sub-block 10.0.0.32/27',
      'sub-block 10.0.1.0/27',
      'sub-block fd00::/123',
    ]);
    // Up to the threshold a block chain keeps its overrides: 10.0.0.0/24 has 3 frame shapes x 5
    // addresses = 15, the others 6 and 9.
    const leavesAt = (n: number) =>
      client({ ...SPLIT, overrideSubBlockSplit: n }, undefined, EXTRA)
        .chains.filter(isLeaf)
        .map(where);
    expect(leavesAt(15)).to.deep.equal([]);
    expect(leavesAt(14)).to.deep.equal(['sub-block 10.0.0.0/27', 'sub-block 10.0.0.32/27']);
    // The block chain dispatches per sub-block and frame shape, and every goto goes forward.
    const block = d.chains.find((c) => where(c) === '10.0.0.0/24')!;
    const leaf = (cidr: string) => d.chains.find((c) => where(c) === `sub-block ${cidr}`)!.index;
    expect(block.filters.map((f) => `${f.prio} ${f.match.dstIp ?? '-'} -> ${gotoOf(f)}`)).to.deep.equal([
      `10 10.0.0.0/27 -> ${leaf('10.0.0.0/27')}`,
      `10 10.0.0.32/27 -> ${leaf('10.0.0.32/27')}`,
      `12 10.0.0.0/27 -> ${leaf('10.0.0.0/27')}`,
      `12 10.0.0.32/27 -> ${leaf('10.0.0.32/27')}`,
      `13 10.0.0.0/27 -> ${leaf('10.0.0.0/27')}`,
      `13 10.0.0.32/27 -> ${leaf('10.0.0.32/27')}`,
      `1314 - -> ${d.chains.find(isRest)!.index}`,
    ]);
    for (const c of d.chains) {
      for (const f of c.filters) {
        const to = gotoOf(f);
        if (to !== undefined) expect(to, `${c.purpose}: goto ${to}`).to.be.greaterThan(c.index);
      }
    }
    const { snapshot, model } = load(clusterObjects([POLICY], PODS('srv', EXTRA)));
    const whole = new ClusterSimulator(snapshot, model, DEFAULT_COMPILE_OPTIONS);
    const split = new ClusterSimulator(snapshot, model, SUB);
    for (const dst of [
      '10.0.0.10',
      '10.0.0.20',
      '10.0.0.40',
      '10.0.0.50',
      '10.0.0.60',
      '10.0.1.10',
      'fd00::14',
    ]) {
      for (const port of [5432, 80]) {
        const src = dst.includes(':') ? 'fd00::100' : '10.0.0.100';
        whole.resetConntrack();
        split.resetConntrack();
        const f = flow(src, dst, 'TCP', port);
        expect(split.send(f, 'forward').verdict, `${dst}:${port}`).to.equal(whole.send(f, 'forward').verdict);
      }
    }
  });

  it('a label change inside one sub-block rewrites that sub-block chain, its block chain, +2, +1, +0, the switch and the deletes', () => {
    const before = client(SUB, undefined, EXTRA);
    // s2 (10.0.0.20, fd00::14) leaves the policy: sub-blocks 10.0.0.0/27 and fd00::/123 change.
    const after = client(SUB, 'other', EXTRA);
    const state = deviceStateOf(
      'rcl',
      'clsact',
      parseFilterDump(
        JSON.parse(JSON.stringify(deviceDump(before, { gen: 0, ctZone: ZONE }))) as unknown[],
        ZONE,
      ),
    );
    const plan = planDevice(after, state, ZONE);
    const relative = new Map(plan.chains!.map((abs, rel) => [abs, rel]));
    const written = new Set<number>();
    for (const l of plan.lines) {
      const m = /^filter add .* chain (\d+) flower/.exec(l);
      if (m) written.add(relative.get(Number(m[1]))!);
    }
    expect([...written].sort((a, b) => a - b).map((rel) => where(chainAt(after, rel)))).to.deep.equal([
      chainAt(after, 0).purpose,
      chainAt(after, 1).purpose,
      chainAt(after, 2).purpose,
      '10.0.0.0/24',
      'sub-block 10.0.0.0/27',
      'fd00::/120',
      'sub-block fd00::/123',
    ]);
    const adds = plan.lines.filter((l) => l.startsWith('filter add')).length;
    expect(adds).to.equal([...written].reduce((n, rel) => n + chainAt(after, rel).filters.length, 0));
    expect(plan.lines.filter((l) => l.startsWith('filter replace'))).to.have.length(1);
    expect(plan.lines.filter((l) => l.startsWith('chain del'))).to.have.length(7);
    // The other sub-block, the other block, the rest chain and the port chain keep their numbers.
    const kept = after.chains.filter((c) => !written.has(c.index));
    expect(kept.map(where)).to.include.members([
      'sub-block 10.0.0.32/27',
      '10.0.1.0/24',
      'sub-block 10.0.1.0/27',
      'ports TCP/5432 (IPv4)',
    ]);
    for (const c of kept) expect(plan.chains![c.index]).to.be.below(20000);
  });

  it('an incremental recompile keeps the unchanged sub-block chains (the same objects) and equals a full compile', () => {
    const first = load(clusterObjects([POLICY], PODS('srv', EXTRA)));
    const compiler = new NodeCompiler(SUB);
    const before = compiler.compile(first.model, 'w1', first.snapshot.nodes.get('w1'));
    const objects = clusterObjects([POLICY], PODS('other', EXTRA));
    const next = buildSnapshot(objects.map((obj) => ({ obj })));
    const diff = diffSnapshots(first.snapshot, next);
    expect(diff.kind).to.equal('pods');
    if (diff.kind !== 'pods') return;
    const opts = { networkPlugins: [PLUGIN] };
    const upd = updatePolicyModel(first.model, first.snapshot, next, diff.changed, opts, new ModelIndexes());
    expect(upd.incremental).to.equal(true);
    const after = compiler.compile(upd.model, 'w1', next.nodes.get('w1'), undefined, undefined, upd.delta);
    const fresh = load(objects);
    expect(after).to.deep.equal(compileNode(fresh.model, 'w1', fresh.snapshot.nodes.get('w1'), SUB));
    const chainsOf = (p: typeof before) => p.devices.find((d) => d.device === 'rcl')!.chains;
    const old = new Set(chainsOf(before));
    const kept = chainsOf(after)
      .filter((c) => old.has(c))
      .map(where);
    expect(kept).to.include.members(['sub-block 10.0.0.32/27', '10.0.1.0/24', 'sub-block 10.0.1.0/27']);
    expect(kept).to.not.include.members(['sub-block 10.0.0.0/27']);
    expect(kept).to.not.include.members(['10.0.0.0/24']);
  });
});
