import { expect } from 'chai';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { renderNodeTc } from '../../../src/tc/render/render-tc.js';
import { parseFilterDump } from '../../../src/tc/apply/parse-filters.js';
import { deviceStateOf } from '../../../src/tc/apply/device-state.js';
import { deviceOffload, formatFilterOffload } from '../../../src/tc/apply/offload-state.js';
import { Reconciler, type ReadDevices } from '../../../src/tc/apply/reconcile.js';
import type { TcRunner } from '../../../src/tc/apply/tc-runner.js';
import { dumpFiles } from '../../../src/agent/rule-dumps.js';
import type { NodePipeline } from '../../../src/tc/ir.js';
import { deviceDump } from './tc-json.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

async function worker1(
  offload?: 'require',
): Promise<{ pipeline: NodePipeline; model: ReturnType<typeof buildPolicyModel> }> {
  const snapshot = await loadSnapshotFromDir('examples/manifests');
  const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
  const opts = { ...DEFAULT_COMPILE_OPTIONS, ...(offload ? { offload } : {}) };
  return { pipeline: compileNode(model, 'worker-1', snapshot.nodes.get('worker-1'), opts), model };
}

describe('offload state', () => {
  it('reads in_hw, in_hw_count, not_in_hw and skip_sw as tc -s -j prints them (netdevsim capture)', () => {
    // From the shared kernel-lab notes: a patched netdevsim's answer for a skip_sw flower filter.
    const dump = [
      { protocol: 'ip', kind: 'flower', chain: 0 },
      {
        protocol: 'ip',
        kind: 'flower',
        chain: 0,
        options: {
          handle: 1,
          keys: { eth_type: 'ipv4', ip_proto: 'tcp', dst_port: 8082 },
          skip_sw: true,
          in_hw: true,
          in_hw_count: 1,
          actions: [{ order: 1, kind: 'gact', control_action: { type: 'drop' }, stats: { packets: 0 } }],
        },
      },
    ];
    const [k] = parseFilterDump(dump);
    expect(k!.offload).to.deep.equal({
      inHw: true,
      inHwCount: 1,
      notInHw: false,
      skipSw: true,
      skipHw: false,
    });
    expect(formatFilterOffload(k!)).to.equal('chain 0 pref 0 handle 1: in_hw in_hw_count 1 skip_sw');
  });

  it('counts the live filters not in hardware, per device', async () => {
    const { pipeline } = await worker1();
    const eth1 = pipeline.devices.find((d) => d.device === 'eth1')!;
    const sw = deviceStateOf(
      'eth1',
      'clsact',
      parseFilterDump(deviceDump(eth1, { gen: 0, ctZone: ZONE }), ZONE),
    );
    const hw = deviceStateOf(
      'eth1',
      'clsact',
      parseFilterDump(deviceDump(eth1, { gen: 0, ctZone: ZONE, inHw: true }), ZONE),
    );
    const n = eth1.chains.reduce((a, c) => a + c.filters.length, 0);
    expect(deviceOffload(sw)).to.include({ device: 'eth1', filters: n, inHw: 0, notInHw: n });
    expect(deviceOffload(hw)).to.include({ filters: n, inHw: n, notInHw: 0 });
    expect(deviceOffload(sw).lines[0]).to.match(/^chain 10000 pref \d+ handle 1: not_in_hw$/);
  });

  it('lists the filters from the root down, whatever order tc prints the chains in', async () => {
    const { pipeline } = await worker1();
    const eth1 = pipeline.devices.find((d) => d.device === 'eth1')!;
    // The planner writes children first, and tc lists chains in the order they were created.
    const dump = deviceDump(eth1, { gen: 0, ctZone: ZONE });
    const reversed = [dump[0]!, ...dump.slice(1).reverse()];
    const lines = deviceOffload(deviceStateOf('eth1', 'clsact', parseFilterDump(reversed, ZONE))).lines;
    const order = lines.map(
      (l) =>
        l
          .match(/^chain (\d+) pref (\d+)/)!
          .slice(1)
          .map(Number) as [number, number],
    );
    const sorted = [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(order).to.deep.equal(sorted);
    expect(lines[0]).to.match(/^chain 10000 pref \d+ handle \d+: not_in_hw$/);
  });

  it('counts only the chains the entry reaches: leftovers of an interrupted update are not live', async () => {
    const { pipeline } = await worker1();
    const eth1 = pipeline.devices.find((d) => d.device === 'eth1')!;
    const n = eth1.chains.reduce((a, c) => a + c.filters.length, 0);
    // Live under a mixed numbering (after per-chain updates), plus the same chains at 20000 + i
    // without an entry pointing there.
    const mixed = eth1.chains.map((c) => (c.index % 2 === 0 ? 10000 : 11000) + c.index);
    const live = deviceDump(eth1, { numbering: (rel) => mixed[rel]!, ctZone: ZONE });
    const leftover = deviceDump(eth1, { gen: 1, ctZone: ZONE, inHw: true }).slice(2);
    const state = deviceStateOf('eth1', 'clsact', parseFilterDump([...live, ...leftover], ZONE));
    const o = deviceOffload(state);
    expect(o).to.include({ filters: n, inHw: 0, notInHw: n });
    expect(o.lines.every((l) => !l.startsWith('chain 2'))).to.equal(true);
    expect(new Set(o.lines.map((l) => Number(/^chain (\d+)/.exec(l)![1])))).to.deep.equal(new Set(mixed));
  });

  it('--offload=require adds skip_sw to every filter and nothing else; auto renders as before', async () => {
    const auto = renderNodeTc((await worker1()).pipeline, ZONE);
    const required = renderNodeTc((await worker1('require')).pipeline, ZONE);
    const filterLines = required.split('\n').filter((l) => l.startsWith('filter add'));
    expect(filterLines.length).to.be.greaterThan(10);
    expect(filterLines.every((l) => / flower skip_sw /.test(l))).to.equal(true);
    expect(required.replaceAll(' flower skip_sw ', ' flower ')).to.equal(auto);
  });

  it('re-reads only devices written since the last call, and the dumps carry one line per filter', async () => {
    const { pipeline, model } = await worker1();
    const reads: string[][] = [];
    const reader: ReadDevices = {
      links: async () => new Map(pipeline.devices.map((d) => [d.device, undefined])),
      ingressQdiscs: async () => new Map(pipeline.devices.map((d) => [d.device, 'clsact' as const])),
      filterDumps: async (devices) => {
        reads.push(devices);
        return devices.map((dev) => ({
          ingress: deviceDump(
            pipeline.devices.find((d) => d.device === dev)!,
            { gen: 0, ctZone: ZONE, inHw: dev === 'p0' },
          ),
          egress: [],
        }));
      },
    };
    const runner = {} as TcRunner; // never called: the report below says what was written
    const reconciler = new Reconciler(runner, reader, ZONE);
    const written = (devs: string[]) => ({
      outcomes: pipeline.devices.map((d) => ({
        device: d.device,
        kind: 'install' as const,
        writes: devs.includes(d.device) ? 5 : 0,
      })),
      writes: 5 * devs.length,
      failed: [],
      read: 0,
      batches: 1,
    });
    const all = pipeline.devices.filter((d) => d.chains.length > 0).map((d) => d.device);
    const first = await reconciler.readOffload(pipeline, written(all));
    expect(reads).to.deep.equal([all]);
    expect(first.find((d) => d.device === 'p0')!.notInHw).to.equal(0);
    expect(first.find((d) => d.device === 'eth1')!.notInHw).to.be.greaterThan(0);
    await reconciler.readOffload(pipeline, written(['eth2']));
    expect(reads).to.deep.equal([all, ['eth2']]);
    await reconciler.readOffload(pipeline, written([]));
    expect(reads).to.have.length(2);
    // The last states are the reconciler's: another one reads every device again.
    await new Reconciler(runner, reader, ZONE).readOffload(pipeline, written([]));
    expect(reads).to.deep.equal([all, ['eth2'], all]);

    const lines = new Map(first.map((d) => [d.device, d.lines]));
    const files = dumpFiles(pipeline, model, new Map(), ZONE, lines);
    const eth1 = [...files.entries()].find(([f]) => f.endsWith('-eth1.rules'))![1];
    expect(eth1).to.include('\noffload:\n  chain 10000 pref ');
    expect(eth1.split('\n').filter((l) => l.endsWith(': not_in_hw'))).to.have.length(
      first.find((d) => d.device === 'eth1')!.filters,
    );
  });

  it('the dumps show each device under the numbering the reconciler planned', async () => {
    const { pipeline, model } = await worker1();
    const eth1 = pipeline.devices.find((d) => d.device === 'eth1')!;
    const numbering = eth1.chains.map((c) => (c.index === 0 ? 20000 : 10000 + c.index));
    const file = (n: Map<string, readonly number[]>) =>
      [...dumpFiles(pipeline, model, n, ZONE).entries()].find(([f]) => f.endsWith('-eth1.rules'))![1];
    const fresh = file(new Map());
    const planned = file(new Map([['eth1', numbering]]));
    expect(fresh).to.include(' chain 10000 flower ');
    expect(planned).to.not.include(' chain 10000 ');
    expect(planned).to.include('flower action gact goto chain 20000 cookie');
    // The same filters otherwise: only the root's number moved.
    expect(planned.replaceAll('chain 20000', 'chain 10000')).to.equal(fresh);
  });
});
