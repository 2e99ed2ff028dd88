// Representor discovery on a real kernel: netdevsim in switchdev mode gives real representors
// (phys_port_name pf0vfN, p1 for the physical port, one phys_switch_id). netdevsim's VFs are not
// PCI devices, so the test lays out only the PCI part (physfn, virtfnN, a non-identity mapping)
// in a directory whose `net` links point at the netdevsim device's real net directory and whose
// class/net is the kernel's own /sys/class/net: every name, switch id, port name and rename the
// resolver reads comes from the kernel.

import { expect } from 'chai';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLab, sh } from './lab/shell.js';
import { NodePipelineBuilder } from '../../src/agent/node-pipeline-builder.js';
import { reconcileOnce, type AgentOptions } from '../../src/agent/run-agent.js';
import { loadSnapshotFromDir } from '../../src/cluster/load-manifests.js';
import type { ClusterSnapshot } from '../../src/cluster/snapshot.js';
import { sysfsSource } from '../../src/node/device-source.js';
import { startLinkMonitor } from '../../src/node/link-monitor.js';
import { resolveFromSysfs } from '../../src/node/resolve-sysfs.js';
import { hostSysFs } from '../../src/node/sysfs.js';
import { ExecaTcRunner } from '../../src/tc/apply/tc-runner.js';
import { kernelReader, Reconciler } from '../../src/tc/apply/reconcile.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../src/tc/compile/options.js';

const ID = 47;
const NSIM = `/sys/bus/netdevsim/devices/netdevsim${ID}`;
const PF = '0000:03:00.0';
/** virtfn index -> VF address: the example manifests' worker-1 VFs, not in index order. */
const VFS: Record<number, string> = {
  0: '0000:03:00.4',
  1: '0000:03:00.2',
  2: '0000:03:00.5',
  3: '0000:03:00.3',
};
const NODE = 'worker-1';

interface DevlinkPort {
  netdev?: string;
  flavour?: string;
  vfnum?: number;
}

/** The kernel's own answer: netdev of the physical port and of each VF's representor. */
async function devlinkPorts(): Promise<{ uplink: string; reps: Map<number, string> }> {
  const out = JSON.parse(await sh(`devlink -j port show`)) as { port: Record<string, DevlinkPort> };
  let uplink = '';
  const reps = new Map<number, string>();
  for (const [name, p] of Object.entries(out.port)) {
    if (!name.startsWith(`netdevsim/netdevsim${ID}/`)) continue;
    if (p.flavour === 'physical') uplink = p.netdev!;
    if (p.flavour === 'pcivf') reps.set(p.vfnum!, p.netdev!);
  }
  return { uplink, reps };
}

function buildSysfsRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'nsim-sysfs-'));
  const devices = join(root, 'sys/bus/pci/devices');
  mkdirSync(join(devices, PF), { recursive: true });
  symlinkSync(`${NSIM}/net`, join(devices, PF, 'net'));
  for (const [index, vf] of Object.entries(VFS)) {
    mkdirSync(join(devices, vf));
    symlinkSync(`../${PF}`, join(devices, vf, 'physfn'));
    symlinkSync(`../${vf}`, join(devices, PF, `virtfn${index}`));
  }
  mkdirSync(join(root, 'sys/class'), { recursive: true });
  symlinkSync('/sys/class/net', join(root, 'sys/class/net'));
  return root;
}

/** examples/manifests, without the documents `drop` matches (by metadata name). */
function manifests(dir: string, drop?: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ['namespaces.yaml', 'networks.yaml', 'nodes.yaml', 'pods.yaml', 'policies.yaml']) {
    const docs = readFileSync(join('examples/manifests', f), 'utf8').split(/\n---\n/);
    writeFileSync(
      join(dir, f),
      docs.filter((d) => !drop || !d.includes(`  name: ${drop}\n`)).join('\n---\n'),
    );
  }
  return dir;
}

/** The agent's reconcile in this process, with sysfs discovery under `root`. */
function inProcessAgent(compile: CompileOptions) {
  const runner = new ExecaTcRunner('tc');
  const reconciler = new Reconciler(runner, kernelReader(runner), compile.ctZone);
  const builder = new NodePipelineBuilder(
    NODE,
    ['accelerated-bridge'],
    compile,
    sysfsSource(hostSysFs(root), NODE),
  );
  const seen = new Set<string>();
  return {
    reconciler,
    builder,
    async reconcile(snapshot: ClusterSnapshot, podRulesPath?: string) {
      const o: AgentOptions = {
        nodeName: NODE,
        once: true,
        tcBinary: 'tc',
        networkPlugins: ['accelerated-bridge'],
        compile,
        ...(podRulesPath ? { podRulesPath } : {}),
      };
      const source = {
        snapshot: async () => snapshot,
        onChange: () => undefined,
        stop: () => undefined,
      };
      return reconcileOnce(source, reconciler, builder, o, seen);
    },
  };
}

async function filterLines(dev: string): Promise<string> {
  return sh(`tc filter show dev ${dev} ingress`);
}

let root: string;
/** examples/manifests, read once. */
let all: ClusterSnapshot;

describe('representor discovery on netdevsim (kernel)', function () {
  let work: string;
  let kernel: { uplink: string; reps: Map<number, string> };

  before(async () => {
    await assertLab();
    if (!existsSync('build/lab/netdevsim.ko'))
      throw new Error(
        'build/lab/netdevsim.ko is missing: run `bash test/lab/netdevsim.sh` (make test-kernel does)',
      );
    await sh(
      [
        'modprobe psample',
        "lsmod | grep -q '^netdevsim ' || insmod build/lab/netdevsim.ko",
        `echo "${ID} 1" > /sys/bus/netdevsim/new_device`,
        `devlink dev eswitch set netdevsim/netdevsim${ID} mode switchdev`,
        `echo 4 > ${NSIM}/sriov_numvfs`,
        // The representors appear asynchronously.
        `for i in $(seq 50); do [ "$(ls ${NSIM}/net | wc -l)" -ge 5 ] && exit 0; sleep 0.1; done; exit 1`,
      ].join(' && '),
    );
    kernel = await devlinkPorts();
    expect(kernel.reps.size).to.equal(4);
    root = buildSysfsRoot();
    work = mkdtempSync(join(tmpdir(), 'nsim-work-'));
    all = await loadSnapshotFromDir(manifests(join(work, 'all')));
  });

  after(async () => {
    await sh(`echo ${ID} > /sys/bus/netdevsim/del_device`, { allowFail: true });
    if (root) rmSync(root, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the resolver finds the kernel representors and uplink through the virtfn mapping', () => {
    const fs = hostSysFs(root);
    for (const [index, vf] of Object.entries(VFS)) {
      const r = resolveFromSysfs(fs, { pciAddress: vf, hint: 'eth99' });
      expect(r.uplink, vf).to.equal(kernel.uplink);
      expect(r.representor, vf).to.equal(kernel.reps.get(Number(index)));
      expect(r.warnings[0], vf).to.match(/representor-device eth99 is stale or wrong/);
    }
  });

  it('--offload=require fails the devices on netdevsim, loudly, with the kernel error', async () => {
    // In process (a CLI start costs tens of seconds under TCG); the flag itself is unit-tested.
    const agent = inProcessAgent({ ...DEFAULT_COMPILE_OPTIONS, offload: 'require' });
    const { pipeline } = agent.builder.build(all);
    const report = await agent.reconciler.reconcile(pipeline);
    const rep = kernel.reps.get(1)!;
    expect(report.failed).to.include(rep);
    const error = report.outcomes.find((x) => x.device === rep)!.error;
    expect(error).to.match(
      new RegExp(`^device ${rep}: tc batch line \\d+ failed: .*only offload of BPF classifiers supported`),
    );
    expect(error).to.include(' flower skip_sw ');
    // Nothing was silently installed in software instead.
    expect(await filterLines(rep)).not.to.include('flower');
    await sh(`for d in $(ls ${NSIM}/net); do tc qdisc del dev $d clsact 2>/dev/null; done; true`);
  });

  it('an in-process agent programs the discovered devices and follows a rename', async () => {
    const dumps = join(work, 'dumps');
    const agent = inProcessAgent(DEFAULT_COMPILE_OPTIONS);
    const first = await agent.reconcile(all, dumps);
    expect(first.ok, first.failed.join()).to.equal(true);
    expect(first.unenforced).to.equal(0);
    const front = kernel.reps.get(1)!; // 0000:03:00.2, app/frontend
    expect(await filterLines(front)).to.include('chain 10000');
    // Stock netdevsim keeps every flower filter in software: the offload state says so.
    const frontOffload = first.offload.find((d) => d.device === front)!;
    expect(frontOffload.filters).to.be.greaterThan(0);
    expect(frontOffload.notInHw).to.equal(frontOffload.filters);
    const uid = all.pods.find((p) => p.name === 'frontend')!.uid;
    const dump = readFileSync(join(dumps, uid, `app-accel-net-${front}.rules`), 'utf8');
    expect(dump).to.match(/\noffload:\n {2}chain 10000 pref \d+ handle \d+: not_in_hw\n/);

    // Renamed while the agent runs: the next reconcile finds it under the new name, with nothing
    // to write (the filters moved with the netdev) and no error about the old name.
    // The agent's netlink watch sees the rename (in cluster mode it drops the cache and reconciles).
    const events: string[] = [];
    const monitor = startLinkMonitor(
      (l) => events.push(l),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 1000)); // let `ip monitor` subscribe
    await sh(`ip link set ${front} name nsim-front`);
    for (let i = 0; i < 100 && !events.some((l) => l.includes('nsim-front')); i++)
      await new Promise((r) => setTimeout(r, 100));
    monitor.stop();
    expect(
      events.some((l) => l.includes('nsim-front')),
      events.join('\n'),
    ).to.equal(true);
    const renamed = await agent.reconcile(all, dumps);
    expect(renamed.ok, renamed.failed.join()).to.equal(true);
    expect(renamed.writes).to.equal(0);
    expect(renamed.offload.map((d) => d.device))
      .to.include('nsim-front')
      .and.not.include(front);
    const before = await filterLines('nsim-front');

    // A policy change after the rename is written to the renamed device.
    // Loading manifests validates them against the CRDs (tens of seconds under TCG): twice only.
    const changed = await loadSnapshotFromDir(manifests(join(work, 'changed'), 'frontend-egress'));
    const after = await agent.reconcile(changed, dumps);
    expect(after.ok, after.failed.join()).to.equal(true);
    expect(after.writes).to.be.greaterThan(0);
    expect(await filterLines('nsim-front')).not.to.equal(before);
    await sh(`ip link set nsim-front name ${front}`);
  });
});
