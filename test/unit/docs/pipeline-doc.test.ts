// docs/tc-rule-pipeline.md quotes real rules of the worked example; they must stay real. A quoted
// line is a line of a code block, or an inline code span, that starts with `filter add` or
// `filter replace`. In an inline span, "…" stands for any text and "<…>" for one word.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { renderNodeTc, kernelFilterCount, renderEntry } from '../../../src/tc/render/render-tc.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import type { NodePipeline } from '../../../src/tc/ir.js';
import { deviceStateOf } from '../../../src/tc/apply/device-state.js';
import { parseFilterDump } from '../../../src/tc/apply/parse-filters.js';
import { planDevice } from '../../../src/tc/apply/plan-device.js';
import { deviceDump } from '../tc/tc-json.js';

const QUOTED = /^filter (add|replace) /;

/** Quoted filter lines: whole code-block lines, and inline code spans. */
function quotedLines(doc: string): string[] {
  const out: string[] = [];
  for (const line of doc.split('\n').map((l) => l.trim())) {
    if (QUOTED.test(line)) out.push(line);
    else for (const m of line.matchAll(/`([^`]+)`/g)) if (QUOTED.test(m[1]!)) out.push(m[1]!);
  }
  return out;
}

function pattern(quoted: string): RegExp {
  const parts = quoted.split(/(…|<[^>]*>)/).map((p) => {
    if (p === '…') return '.*';
    if (p.startsWith('<') && p.endsWith('>')) return '\\S+';
    return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('')}$`);
}

/** The quoted lines that no rendered line matches. */
function unrendered(quoted: string[], rendered: string[]): string[] {
  return quoted.filter((q) => {
    const re = pattern(q);
    return !rendered.some((r) => re.test(r));
  });
}

async function workedNodeA(yaml?: string, opts: CompileOptions = DEFAULT_COMPILE_OPTIONS): Promise<NodePipeline> {
  let dir = 'examples/worked';
  if (yaml !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'worked-'));
    writeFileSync(join(dir, 'cluster.yaml'), yaml);
  }
  try {
    const snapshot = await loadSnapshotFromDir(dir);
    const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
    return compileNode(model, 'node-a', snapshot.nodes.get('node-a'), opts);
  } finally {
    if (yaml !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Section 2's split example: the worked example with a second database pod, the split forced. */
const DB2 = `---
apiVersion: v1
kind: Pod
metadata:
  name: db2
  namespace: demo
  uid: 0000000a-0000-4000-8000-000000000005
  labels: { app: db }
  annotations:
    k8s.v1.cni.cncf.io/networks: net1
    k8s.v1.cni.cncf.io/network-status: '[{"name":"demo/net1","interface":"net1","ips":["10.10.0.5"],"mac":"02:00:00:00:00:05","device-info":{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:03:00.5","pf-pci-address":"0000:03:00.0","representor-device":"eth3"}}}]'
spec:
  nodeName: node-a
  containers:
    - name: postgres
      image: postgres
      ports: [{ name: postgres, containerPort: 5432, protocol: TCP }]
status: { phase: Running }
`;

/** Section 2's examples: chain +2 split per block, and with `subBlocks` each block chain per sub-block too. */
async function splitExample(subBlocks = false): Promise<string[]> {
  const yaml = readFileSync('examples/worked/cluster.yaml', 'utf8');
  const at = yaml.indexOf('---\napiVersion: k8s.cni.cncf.io/v1beta1\nkind: MultiNetworkPolicy');
  expect(at).to.be.greaterThan(0);
  const opts = { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: 0, ...(subBlocks ? { overrideSubBlockSplit: 0 } : {}) };
  const p = await workedNodeA(yaml.slice(0, at) + DB2 + yaml.slice(at), opts);
  return renderNodeTc(p, opts.ctZone).split('\n');
}

/** The updates section 7 shows: the worked example's cluster.yaml with one text replaced. */
const UPDATES: { from: string; to: string; lines: Record<string, number> }[] = [
  { from: 'port: postgres', to: 'port: 5433', lines: { eth1: 0, eth2: 42, p0: 44 } },
  {
    from: 'podSelector: { matchLabels: { app: api } }',
    to: 'podSelector: { matchExpressions: [{ key: app, operator: In, values: [api, web] }] }',
    lines: { eth1: 0, eth2: 0, p0: 42 },
  },
];

/** The planner's lines for each documented update, from the fresh install of the worked example. */
async function documentedUpdates(): Promise<string[]> {
  const zone = DEFAULT_COMPILE_OPTIONS.ctZone;
  const before = await workedNodeA();
  const yaml = readFileSync('examples/worked/cluster.yaml', 'utf8');
  const out: string[] = [];
  for (const u of UPDATES) {
    expect(yaml).to.include(u.from);
    const after = await workedNodeA(yaml.replace(u.from, u.to));
    const counts: Record<string, number> = {};
    for (const d of after.devices) {
      const old = before.devices.find((x) => x.device === d.device)!;
      const dump = parseFilterDump(deviceDump(old, { gen: 0, ctZone: zone }) as unknown[], zone);
      const plan = planDevice(d, deviceStateOf(d.device, 'clsact', dump), zone);
      counts[d.device] = plan.lines.length;
      out.push(...plan.lines);
    }
    expect(counts, `lines per device after "${u.to}"`).to.deep.equal(u.lines);
  }
  return out;
}

describe('docs/tc-rule-pipeline.md', () => {
  it('quotes only filter lines that the worked example renders, entry replaces included', async () => {
    const snapshot = await loadSnapshotFromDir('examples/worked');
    const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
    const p = compileNode(model, 'node-a', snapshot.nodes.get('node-a'), DEFAULT_COMPILE_OPTIONS);
    const rendered = renderNodeTc(p, DEFAULT_COMPILE_OPTIONS.ctZone).split('\n');
    for (const d of p.devices) for (const gen of [0, 1] as const) rendered.push(renderEntry(d.device, gen, 'replace'));
    rendered.push(...(await documentedUpdates()));
    rendered.push(...(await splitExample()), ...(await splitExample(true)));
    const doc = readFileSync('docs/tc-rule-pipeline.md', 'utf8');
    const quoted = quotedLines(doc);
    expect(quoted.filter((l) => l.startsWith('filter add')).length).to.be.greaterThan(20);
    expect(quoted.filter((l) => l.startsWith('filter replace')).length).to.be.at.least(2);
    expect(unrendered(quoted, rendered), 'lines quoted in the doc but not rendered').to.deep.equal([]);
    const counts = Object.fromEntries(p.devices.map((d) => [d.device, kernelFilterCount(d)]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(doc).to.include(
      `The output has ${total} filters on three devices (\`eth1\` ${counts.eth1}, \`eth2\` ${counts.eth2}, \`p0\` ${counts.p0})`,
    );
  });

  it('shows the split example of section 2 whole: eth2 chains +2 to +4, untagged IPv4 and protocol all', async () => {
    const doc = readFileSync('docs/tc-rule-pipeline.md', 'utf8');
    const from = doc.indexOf('**Chain +2 split per address block.**');
    expect(from).to.be.greaterThan(0);
    const open = doc.indexOf('```\n', from) + 4;
    const quoted = doc.slice(open, doc.indexOf('```', open)).trim().split('\n');
    const want = (await splitExample()).filter((l) =>
      /^filter add dev eth2 ingress protocol (ip|all) pref \d+ chain 1000[234] /.test(l),
    );
    expect(want.some((l) => / chain 10003 .*goto chain 10004$/.test(l)), 'a block chain ends in the rest chain').to.equal(
      true,
    );
    expect(quoted).to.deep.equal(want);
  });

  it('shows the second-level example of section 2 whole: eth2 chains +2 to +5, untagged IPv4 and protocol all', async () => {
    const doc = readFileSync('docs/tc-rule-pipeline.md', 'utf8');
    const from = doc.indexOf('**A second dispatch level.**');
    expect(from).to.be.greaterThan(0);
    const open = doc.indexOf('```\n', from) + 4;
    const quoted = doc.slice(open, doc.indexOf('```', open)).trim().split('\n');
    const want = (await splitExample(true)).filter((l) =>
      /^filter add dev eth2 ingress protocol (ip|all) pref \d+ chain 1000[2345] /.test(l),
    );
    expect(
      want.some((l) => / chain 10003 .*dst_ip 10\.10\.0\.0\/27 .*goto chain 10004$/.test(l)),
      'the block chain dispatches to the sub-block chain',
    ).to.equal(true);
    expect(quoted).to.deep.equal(want);
  });

  it('the check flags replace lines that are not rendered, in blocks and in inline spans', () => {
    const rendered = [renderEntry('eth2', 1, 'replace'), renderEntry('eth2', 0, 'add')];
    const doc = [
      '```',
      rendered[0]!,
      rendered[0]!.replace('pref 1 ', 'pref 2 '),
      '```',
      'step: `filter replace … chain 0 flower action gact goto chain <root> cookie 6d6e702d7463`,',
      'wrong: `filter replace … chain 0 flower action gact goto chain <root>` (no cookie)',
      'wrong: `filter replace dev eth2 … handle 2 …`',
    ].join('\n');
    const quoted = quotedLines(doc);
    expect(quoted).to.have.length(5);
    expect(unrendered(quoted, rendered)).to.deep.equal([quoted[1], quoted[3], quoted[4]]);
  });
});
