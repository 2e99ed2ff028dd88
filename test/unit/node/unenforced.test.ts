// A pod interface that no device can filter is reported, never silently allowed: the example
// manifests without worker-1's Node object (no uplink known) and without a representor-device.

import { expect } from 'chai';
import { buildSnapshot, type SourcedObject } from '../../../src/cluster/build-snapshot.js';
import { loadManifestsDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { verdict as referenceVerdict } from '../../../src/policy/verdict.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { explainFlow, explainMatrix } from '../../../src/cli/explain.js';
import { renderShow } from '../../../src/cli/show.js';
import { placeDevices } from '../../../src/cli/placement.js';
import type { L4Protocol } from '../../../src/policy/types.js';

const PLUGINS = ['accelerated-bridge'];
type Obj = { kind?: string; metadata?: { name?: string; annotations?: Record<string, string> } };

async function examples(edit: (objects: SourcedObject[]) => SourcedObject[] = (o) => o) {
  const { objects } = await loadManifestsDir('examples/manifests');
  const snapshot = buildSnapshot(edit(objects));
  const model = buildPolicyModel(snapshot, { networkPlugins: PLUGINS });
  return placeDevices(snapshot, model, PLUGINS, {});
}

const withoutNode = (name: string) => (objects: SourcedObject[]) =>
  objects.filter((s) => !((s.obj as Obj).kind === 'Node' && (s.obj as Obj).metadata?.name === name));

/** Drops representor-device from one pod's network-status. */
const withoutRepresentor = (pod: string) => (objects: SourcedObject[]) =>
  objects.map((s) => {
    const o = s.obj as Obj;
    if (o.kind !== 'Pod' || o.metadata?.name !== pod) return s;
    const key = 'k8s.v1.cni.cncf.io/network-status';
    const status = o.metadata.annotations![key]!.replace(/,"representor-device":"[^"]*"/g, '');
    return {
      ...s,
      obj: { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [key]: status } } },
    };
  });

/** Empties the addresses of one pod's interface on app/accel-net (a network without IPAM). */
const withoutAddresses = (pod: string) => (objects: SourcedObject[]) =>
  objects.map((s) => {
    const o = s.obj as Obj;
    if (o.kind !== 'Pod' || o.metadata?.name !== pod) return s;
    const key = 'k8s.v1.cni.cncf.io/network-status';
    const status = o.metadata.annotations![key]!.replace(
      /("name":"app\/accel-net","interface":"net1","ips":)\[[^\]]*\]/,
      '$1[]',
    );
    return {
      ...s,
      obj: { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [key]: status } } },
    };
  });

describe('unenforced pod interfaces', () => {
  it('the complete example has none: show, explain and the pipelines say nothing about it', async () => {
    const placed = await examples();
    expect(placed.unenforced).to.deep.equal([]);
    expect(renderShow(placed.model, placed.unenforced)).not.to.include('NOT ENFORCED');
    const p = compileNode(
      placed.model,
      'worker-1',
      placed.snapshot.nodes.get('worker-1'),
      DEFAULT_COMPILE_OPTIONS,
    );
    expect(p.unenforced).to.deep.equal([]);
  });

  // UDP: over TCP the unfiltered SYN reaches app/db, but its SYN-ACK meets conntrack on db's own
  // representor with no entry (+inv) and is dropped, so TCP is denied by accident, not by policy.
  it('without the worker-1 Node: explain x/client -> app/db UDP 5432 is an allow marked NOT ENFORCED', async () => {
    const placed = await examples(withoutNode('worker-1'));
    const r = explainFlow(
      placed.snapshot,
      placed.model,
      DEFAULT_COMPILE_OPTIONS,
      { from: 'x/client', to: 'app/db', protocol: 'UDP', port: 5432 },
      placed.unenforced,
    );
    expect(r.verdict).to.equal('allow');
    expect(r.notEnforced.map((u) => [u.pod, u.direction, u.node])).to.deep.equal([
      ['app/db', 'ingress', 'worker-1'],
    ]);
    expect(r.text).to.match(
      /^verdict: allow \(NOT ENFORCED\)\n {2}NOT ENFORCED: app\/db net1 on node worker-1: no uplink representor: there is no Node object worker-1/,
    );
    // The same flow from a pod on the same node is filtered on the sender's representor: enforced.
    const local = explainFlow(
      placed.snapshot,
      placed.model,
      DEFAULT_COMPILE_OPTIONS,
      { from: 'app/frontend', to: 'app/db', protocol: 'TCP', port: 5432 },
      placed.unenforced,
    );
    expect(local.verdict).to.equal('deny');
    expect(local.notEnforced).to.deep.equal([]);
  });

  it('every flow the pipeline allows against the policy is one marked NOT ENFORCED', async () => {
    const placed = await examples(withoutNode('worker-1'));
    const networks = [...new Set(placed.model.interfaces.map((i) => i.network))].sort();
    let wrong = 0;
    for (const network of networks)
      for (const protocol of ['TCP', 'UDP'] as L4Protocol[])
        for (const port of [80, 443, 5432, 8080]) {
          const m = explainMatrix(
            placed.snapshot,
            placed.model,
            DEFAULT_COMPILE_OPTIONS,
            { network, protocol, port },
            placed.unenforced,
          );
          for (const [src, row] of Object.entries(m.matrix))
            for (const [dst, v] of Object.entries(row)) {
              const s = placed.model.interfaces.find(
                (i) => i.network === network && i.pod === src.split('@')[0],
              )!;
              const d = placed.model.interfaces.find(
                (i) => i.network === network && i.pod === dst.split('@')[0],
              )!;
              const fam =
                s.ips.some((ip) => !ip.includes(':')) && d.ips.some((ip) => !ip.includes(':')) ? '.' : ':';
              const pick = (ips: string[]) => ips.find((ip) => (fam === ':') === ip.includes(':'))!;
              const ref = referenceVerdict(placed.model, {
                network,
                srcIp: pick(s.ips),
                dstIp: pick(d.ips),
                protocol,
                port,
              });
              if (v === 'allow' && ref.verdict === 'deny') {
                wrong++;
                expect(m.notEnforced?.[src], `${network} ${protocol}/${port} ${src} -> ${dst}`).to.include(
                  dst,
                );
              }
            }
        }
    expect(wrong, 'flows the policy denies that nothing filters').to.be.greaterThan(0);
  });

  it('show marks the ingress of worker-1 isolated interfaces NOT ENFORCED with the reason', async () => {
    const placed = await examples(withoutNode('worker-1'));
    const text = renderShow(placed.model, placed.unenforced);
    const db = text.split('\n\n').find((b) => b.startsWith('app/db net1'))!;
    expect(db).to.include(
      '  ingress: isolated by app/allow-db-from-api, app/default-deny-ingress\n    NOT ENFORCED: no uplink representor: there is no Node object worker-1 with an uplink-representors annotation; traffic from other nodes and from outside to it is not filtered (its ingress policy)\n',
    );
    expect(placed.unenforced.every((u) => u.node === 'worker-1' && u.direction === 'ingress')).to.equal(true);
  });

  it('a pod without representor-device: its egress is NOT ENFORCED, in the pipeline and in show', async () => {
    const placed = await examples(withoutRepresentor('frontend'));
    const p = compileNode(
      placed.model,
      'worker-1',
      placed.snapshot.nodes.get('worker-1'),
      DEFAULT_COMPILE_OPTIONS,
    );
    expect(p.unenforced!.map((u) => [u.pod, u.direction])).to.deep.equal([['app/frontend', 'egress']]);
    expect(p.devices.map((d) => d.device)).not.to.include('eth1');
    const text = renderShow(placed.model, placed.unenforced);
    expect(text).to.include(
      '  egress: isolated by app/frontend-egress\n    NOT ENFORCED: no VF representor: device-info has no representor-device',
    );
  });

  // An interface without an address (a network without IPAM, the pod sets its own addresses) is
  // isolated, but its ingress is told apart by destination address on the uplink and on the
  // same-node senders' representors: no filter checks traffic to it, so it must not be silent.
  it('an ingress-isolated interface without an address: its ingress is NOT ENFORCED', async () => {
    const placed = await examples(withoutAddresses('db'));
    const db = placed.model.interfaces.find((i) => i.pod === 'app/db' && i.network === 'app/accel-net')!;
    expect(db.ips).to.deep.equal([]);
    expect(db.ingress.isolated).to.equal(true);
    const p = compileNode(
      placed.model,
      'worker-1',
      placed.snapshot.nodes.get('worker-1'),
      DEFAULT_COMPILE_OPTIONS,
    );
    expect(p.unenforced!.map((u) => [u.pod, u.interface, u.direction])).to.deep.equal([
      ['app/db', 'net1', 'ingress'],
    ]);
    expect(p.unenforced![0]!.reason).to.match(/^no address in network-status/);
    const text = renderShow(placed.model, placed.unenforced);
    const block = text.split('\n\n').find((b) => b.startsWith('app/db net1'))!;
    expect(block).to.include(
      '  ingress: isolated by app/allow-db-from-api, app/default-deny-ingress\n    NOT ENFORCED: no address',
    );
  });
});
