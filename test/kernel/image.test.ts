// The agent from the built image, run as the DaemonSet runs it (root with CAP_NET_ADMIN alone, the
// image's own node and tc) through image/run.sh, against the lab's representors. `make test-kernel`
// exports the image first (make image-rootfs); without an export this suite fails.

import { expect } from 'chai';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOwnedChain } from '../../src/tc/layout.js';
import { agentOnce, type AgentRun } from './lab/agent.js';
import { loadModel } from './lab/observe.js';
import { runProbes, startServers } from './lab/probe.js';
import { assertLab, sh, tcJson } from './lab/shell.js';
import { buildTopology, type Topology } from './lab/topology.js';
import { policy, worldObjects, worldPods, writeManifests } from './lab/world.js';

const DUMPS = '/var/lib/multi-networkpolicy-tc';

/** One `--once` run of the image's agent in a node's namespace. */
async function imageAgentOnce(
  manifests: string,
  node: string,
  nodeNs: string,
  dumps?: string,
): Promise<AgentRun> {
  const binds = ['-b', `${manifests}:/run/manifests`, ...(dumps ? ['-b', `${dumps}:${DUMPS}`] : [])];
  const args = ['--manifests', '/run/manifests', '--hostname-override', node, '--once', '-v', '2'];
  if (dumps) args.push(`--pod-rules-path=${DUMPS}`);
  const r = await execa('ip', ['netns', 'exec', nodeNs, 'bash', 'image/run.sh', ...binds, '--', ...args], {
    reject: false,
  });
  const m = /reconciled node \S+: \d+ device\(s\), (\d+) tc line\(s\)/.exec(r.stderr);
  return { code: r.exitCode ?? -1, writes: m ? Number(m[1]) : -1, stderr: r.stderr };
}

/** The agent's own filters on a device: the entry filter and the owned chains (10000-29999). */
async function ownedFilters(nodeNs: string, dev: string): Promise<number> {
  const all = (await tcJson(nodeNs, `filter show dev ${dev} ingress`)) as {
    chain?: number;
    pref?: number;
    options?: unknown;
  }[];
  return all.filter(
    (f) => f.options && ((f.chain === 0 && f.pref === 1) || (f.chain !== undefined && isOwnedChain(f.chain))),
  ).length;
}

describe('kernel: the agent from the image', function () {
  const pods = worldPods();
  const pod = (ns: string, name: string) => pods.find((p) => p.ns === ns && p.name === name)!;
  // x/b admits TCP 80 from x/a only. Only x/b's node has filters to program, so the suite starts
  // the agent on that node alone: each Node.js start costs seconds under TCG.
  const b = pod('x', 'b');
  const objects = [
    ...worldObjects(),
    policy('x', 'b-ingress', {
      podSelector: { matchLabels: { pod: 'b' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
      ],
    }),
  ];
  let dir: string;
  let dumps: string;
  let topo: Topology;
  let nodeNs: string;
  const onNode = () => pods.filter((p) => p.node === b.node);

  before(async () => {
    await assertLab();
    await execa('bash', ['image/rootfs.sh', '--path']);
    dir = await writeManifests(objects);
    dumps = await mkdtemp(join(tmpdir(), 'mnp-dumps-'));
    const { snapshot, model } = await loadModel(dir);
    topo = await buildTopology(snapshot, model);
    nodeNs = topo.nodeNs.get(b.node)!;
    await startServers([topo.podNs.get('x/b')!], ['TCP'], [80, 81]);
  });
  after(async () => topo?.teardown());

  it('programs a node with root and CAP_NET_ADMIN alone, and the policy holds for real packets', async () => {
    const r = await imageAgentOnce(dir, b.node, nodeNs, dumps);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.writes, `tc lines written: ${r.stderr}`).to.be.greaterThan(0);
    const from = (ns: string, name: string) => topo.podNs.get(`${ns}/${name}`)!;
    const seen = await runProbes([
      { id: 'a->b:80', srcNs: from('x', 'a'), dstIp: b.ipv4, protocol: 'TCP', port: 80 },
      { id: 'a->b:81', srcNs: from('x', 'a'), dstIp: b.ipv4, protocol: 'TCP', port: 81 },
      { id: 'c->b:80', srcNs: from('x', 'c'), dstIp: b.ipv4, protocol: 'TCP', port: 80 },
    ]);
    expect(Object.fromEntries(seen)).to.deep.equal({ 'a->b:80': true, 'a->b:81': false, 'c->b:80': false });
  });

  it('wrote the rules of its pods to --pod-rules-path', async () => {
    const uids = await readdir(dumps);
    expect(uids.length, 'pod directories').to.be.greaterThan(0);
    const files = (
      await Promise.all(uids.map(async (u) => (await readdir(join(dumps, u))).map((f) => join(dumps, u, f))))
    ).flat();
    const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    expect(
      texts.some((t) => t.includes(`representor ${b.rep}`) && t.includes('flower')),
      `a dump with ${b.rep}'s filters`,
    ).to.equal(true);
  });

  it('leaves nothing for the host build to change, and a restart over its rules writes nothing', async () => {
    const host = await agentOnce(dir, b.node, nodeNs);
    expect(host.code, host.stderr).to.equal(0);
    expect(host.writes, `host build: ${host.stderr}`).to.equal(0);
    const again = await imageAgentOnce(dir, b.node, nodeNs);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.writes, `image agent restarted: ${again.stderr}`).to.equal(0);
  });

  it('removes its filters when run over an empty manifests directory (the uninstall step)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'mnp-empty-'));
    expect(await ownedFilters(nodeNs, b.rep), 'filters before the cleanup').to.be.greaterThan(0);
    const r = await imageAgentOnce(empty, b.node, nodeNs);
    expect(r.code, r.stderr).to.equal(0);
    for (const p of onNode()) {
      expect(await ownedFilters(nodeNs, p.rep), p.rep).to.equal(0);
      expect(
        await sh(`ip netns exec ${nodeNs} tc qdisc show dev ${p.rep}`),
        `${p.rep}: clsact`,
      ).to.not.include('clsact');
    }
  });
});
