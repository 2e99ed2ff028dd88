// The agent's path with sysfs discovery: the example manifests' worker-1 pods on the CX-6 Dx
// fixture tree, across renames, a vanished representor and its return.

import { expect } from 'chai';
import { NodePipelineBuilder } from '../../../src/agent/node-pipeline-builder.js';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import { sysfsSource } from '../../../src/node/device-source.js';
import { hostSysFs } from '../../../src/node/sysfs.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import type { NodePipeline } from '../../../src/tc/ir.js';
import { PF0, SysfsFixture } from './sysfs-fixture.js';

const NODE = 'worker-1';
const chainsOf = (p: NodePipeline, device: string) => p.devices.find((d) => d.device === device)?.chains;

describe('sysfs discovery in the agent path', () => {
  let fx: SysfsFixture;
  beforeEach(() => {
    fx = new SysfsFixture();
  });
  afterEach(() => fx.cleanup());

  it('places worker-1 from sysfs, follows a rename, survives a vanished representor', async () => {
    const snapshot = await loadSnapshotFromDir('examples/manifests');
    const source = sysfsSource(hostSysFs(fx.root), NODE);
    const builder = new NodePipelineBuilder(NODE, ['accelerated-bridge'], DEFAULT_COMPILE_OPTIONS, source);
    const byHints = new NodePipelineBuilder(NODE, ['accelerated-bridge'], DEFAULT_COMPILE_OPTIONS).build(
      snapshot,
    );

    const first = builder.build(snapshot).pipeline;
    // 03:00.2 is virtfn1 (eth7), .3 virtfn3, .4 virtfn2, .5 virtfn0; the uplink is enp3s0f0np0.
    expect(first.devices.map((d) => d.device)).to.deep.equal([
      'enp3s0f0np0',
      'enp3s0f0npf0vf0',
      'enp3s0f0npf0vf2',
      'enp3s0f0npf0vf3',
      'eth7',
    ]);
    expect(first.unenforced).to.deep.equal([]);
    expect(chainsOf(first, 'eth7')).to.deep.equal(chainsOf(byHints.pipeline, 'eth1'));
    expect(chainsOf(first, 'enp3s0f0np0')).to.deep.equal(chainsOf(byHints.pipeline, 'p0'));
    // Hints and the annotation disagree with the tree: warned, sysfs wins.
    expect(first.warnings).to.include(
      'app/frontend net1 on app/accel-net: device-info representor-device eth1 is stale or wrong: sysfs gives eth7; using eth7',
    );
    expect(first.warnings).to.include(
      "app/frontend net1 on app/accel-net: the Node's uplink annotation names p0 for PF 0000:03:00.0, sysfs gives enp3s0f0np0; using enp3s0f0np0",
    );

    // Nothing changed: answered from the cache.
    const reads = source.discovery.reads;
    builder.build(snapshot);
    expect(source.discovery.reads).to.equal(reads);

    // udev renames eth7: the next build reads sysfs again and the filters follow the new name.
    fx.rename(PF0, 'eth7', 'enp3s0f0npf0vf1');
    const renamed = builder.build(snapshot).pipeline;
    expect(source.discovery.reads).to.be.greaterThan(reads);
    expect(renamed.devices.map((d) => d.device))
      .to.include('enp3s0f0npf0vf1')
      .and.not.include('eth7');
    expect(chainsOf(renamed, 'enp3s0f0npf0vf1')).to.deep.equal(chainsOf(first, 'eth7'));

    // The representor vanishes: the interface is unenforced (egress), nothing throws.
    fx.remove(PF0, 'enp3s0f0npf0vf1');
    const gone = builder.build(snapshot).pipeline;
    expect(gone.unenforced!.map((u) => [u.pod, u.direction, u.reason])).to.deep.equal([
      [
        'app/frontend',
        'egress',
        'no VF representor in sysfs: VF 0000:03:00.2 (pf0vf1): no netdev with phys_switch_id b8cef60300a1b2c3 has phys_port_name pf0vf1',
      ],
    ]);
    // It comes back under yet another name: its filters go in at once.
    fx.addNetdev({
      name: 'rep1',
      parent: PF0,
      portName: 'pf0vf1',
      switchId: 'b8cef60300a1b2c3',
      ifindex: 30,
    });
    const back = builder.build(snapshot).pipeline;
    expect(back.unenforced).to.deep.equal([]);
    expect(chainsOf(back, 'rep1')).to.deep.equal(chainsOf(first, 'eth7'));
  });

  it('a name swap that keeps the netdev list still invalidates the cache (ifindex is part of it)', async () => {
    const snapshot = await loadSnapshotFromDir('examples/manifests');
    const source = sysfsSource(hostSysFs(fx.root), NODE);
    const builder = new NodePipelineBuilder(NODE, ['accelerated-bridge'], DEFAULT_COMPILE_OPTIONS, source);
    const before = builder.build(snapshot).pipeline;
    // Swap eth7 and enp3s0f0npf0vf2 by name: same set of names, other ifindexes behind them.
    fx.rename(PF0, 'eth7', 'tmp0');
    fx.rename(PF0, 'enp3s0f0npf0vf2', 'eth7');
    fx.rename(PF0, 'tmp0', 'enp3s0f0npf0vf2');
    const after = builder.build(snapshot).pipeline;
    expect(chainsOf(after, 'enp3s0f0npf0vf2')).to.deep.equal(chainsOf(before, 'eth7'));
    expect(chainsOf(after, 'eth7')).to.deep.equal(chainsOf(before, 'enp3s0f0npf0vf2'));
  });
});
