// One `tc -batch` for many devices on a real kernel: a device whose lines fail in the middle of
// the batch fails alone. The devices before it are programmed by that batch, the devices after it
// by a second one, and the failed device keeps its old rules (its switch line never ran). Its
// error carries the line tc reported ("Command failed -:N" of a multi-device batch). The next
// reconcile, not full, reads and writes only that device.

import { expect } from 'chai';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { loadSnapshotFromDir } from '../../src/cluster/load-manifests.js';
import { NodePipelineBuilder } from '../../src/agent/node-pipeline-builder.js';
import { kernelReader, Reconciler } from '../../src/tc/apply/reconcile.js';
import { planDevice } from '../../src/tc/apply/plan-device.js';
import { ExecaTcRunner } from '../../src/tc/apply/tc-runner.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../src/tc/compile/options.js';
import type { NodePipeline } from '../../src/tc/ir.js';
import { assertLab, sh } from './lab/shell.js';
import { NAMESPACES, policy, worldObjects, writeManifests } from './lab/world.js';

const NODE = 'node-1';
const NETNS = 'mnp-batch-failure';
const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

/** Every namespace isolated; with `open`, every pod may also send to and take from any pod on UDP 82. */
function objects(open: boolean): unknown[] {
  return [
    ...worldObjects(),
    ...NAMESPACES.flatMap((ns) => [
      policy(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      ...(open
        ? [
            policy(ns, 'udp-82', {
              podSelector: {},
              policyTypes: ['Ingress', 'Egress'],
              egress: [
                { to: [{ namespaceSelector: {}, podSelector: {} }], ports: [{ protocol: 'UDP', port: 82 }] },
              ],
              ingress: [
                {
                  from: [{ namespaceSelector: {}, podSelector: {} }],
                  ports: [{ protocol: 'UDP', port: 82 }],
                },
              ],
            }),
          ]
        : []),
    ]),
  ];
}

async function pipelineOf(open: boolean, dir: string): Promise<NodePipeline> {
  await writeManifests(objects(open), dir);
  const builder = new NodePipelineBuilder(NODE, ['accelerated-bridge'], DEFAULT_COMPILE_OPTIONS);
  return builder.build(await loadSnapshotFromDir(dir)).pipeline;
}

describe('one tc -batch for many devices, on a real kernel', function () {
  let dir: string;
  let tools: string;

  before(async () => {
    await assertLab();
    dir = await mkdtemp(join(tmpdir(), 'batch-failure-'));
    tools = await mkdtemp(join(tmpdir(), 'batch-failure-tools-'));
  });
  after(async () => {
    await sh(`ip netns del ${NETNS}`, { allowFail: true });
    if (dir) await rm(dir, { recursive: true, force: true });
    if (tools) await rm(tools, { recursive: true, force: true });
  });

  it('a device failing mid-batch fails alone, keeps its old rules, and is the only one read next time', async () => {
    const closed = await pipelineOf(false, dir);
    const open = await pipelineOf(true, dir);
    const devices = closed.devices.map((d) => d.device);
    await sh(
      [
        `ip netns add ${NETNS}`,
        ...devices.flatMap((d) => [
          `ip -n ${NETNS} link add ${d} type dummy`,
          `ip -n ${NETNS} link set ${d} up`,
        ]),
      ].join('\n'),
    );
    const plain = new ExecaTcRunner('tc', NETNS);
    const installed = await new Reconciler(plain, kernelReader(plain), ZONE).reconcile(closed);
    expect(installed.failed, 'install').to.deep.equal([]);

    // The devices the change rewrites, in batch order; the one in the middle gets a broken line.
    const changed = open.devices
      .filter(
        (d) =>
          JSON.stringify(d.chains) !==
          JSON.stringify(closed.devices.find((c) => c.device === d.device)!.chains),
      )
      .map((d) => d.device)
      .sort();
    expect(
      changed.length,
      `devices the change rewrites: ${changed.join(', ')} of ${devices.join(', ')}`,
    ).to.be.at.least(3);
    const target = changed[Math.floor(changed.length / 2)]!;
    // A stand-in tc whose write batches, while the mark exists, get the target's first
    // "filter add" line broken.
    const broken = join(tools, 'tc-broken');
    const mark = join(tools, 'break');
    await writeFile(mark, '');
    await writeFile(
      broken,
      `#!/bin/sh\nif [ "$1" = "-batch" ] && [ -e ${mark} ]; then\n  awk -v t='filter add dev ${target} ' '!done && index($0, t) == 1 { sub(/ flower /, " flowerX "); done = 1 } { print }' | tc -batch -\n  exit $?\nfi\nexec tc "$@"\n`,
    );
    await chmod(broken, 0o755);
    const runner = new ExecaTcRunner(broken, NETNS);
    const rec = new Reconciler(runner, kernelReader(runner), ZONE);
    const report = await rec.reconcile(open);
    expect(report.failed, report.outcomes.map((o) => o.error).join('\n')).to.deep.equal([target]);
    expect(report.batches, 'one batch, and one for the devices after the failed one').to.equal(2);
    const error = report.outcomes.find((o) => o.device === target)!.error!;
    expect(error).to.match(new RegExp(`^device ${target}: tc batch line \\d+ failed: .*flowerX`));
    expect(error, 'the failing line is the broken one').to.contain(`(line: filter add dev ${target} `);

    // Read back: the others are on the new pipeline, the target still on the old one.
    const states = await rec.readStates(devices);
    for (const d of changed) {
      const state = states.get(d)!;
      if ('error' in state) throw new Error(state.error);
      const want = (d === target ? closed : open).devices.find((x) => x.device === d)!;
      expect(
        planDevice(want, state, ZONE).lines,
        `${d} on its ${d === target ? 'old' : 'new'} rules`,
      ).to.deep.equal([]);
    }

    // The next reconcile, not full and with tc working again, reads and writes the target only.
    await rm(mark);
    const next = await rec.reconcile(open, { full: false });
    expect(next.failed).to.deep.equal([]);
    expect(next.read, 'devices read').to.equal(1);
    expect(next.outcomes.map((o) => [o.device, o.writes > 0])).to.deep.equal([[target, true]]);
    const final = await rec.readStates(devices);
    for (const d of devices) {
      const state = final.get(d)!;
      if ('error' in state) throw new Error(state.error);
      const want = open.devices.find((x) => x.device === d)!;
      expect(planDevice(want, state, ZONE).lines, `${d} on the new rules`).to.deep.equal([]);
    }
  });
});
