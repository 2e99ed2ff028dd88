// The informers' slim records must keep every field the model reads: a pod read from its slim
// record gives the same PodInfo as the pod the API server sent.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { slimObject } from '../../../../src/cluster/kube/slim.js';
import type { Pod } from '../../../../src/cluster/objects.js';
import { readPod } from '../../../../src/cluster/read-pod.js';

const full = {
  metadata: {
    name: 'srv',
    namespace: 'app',
    uid: 'u-1',
    labels: { app: 'srv' },
    annotations: {
      'k8s.v1.cni.cncf.io/network-status': JSON.stringify([
        { name: 'app/accel-net', interface: 'net1', ips: ['10.0.0.2'] },
      ]),
      unrelated: 'x',
    },
  },
  spec: {
    nodeName: 'worker-1',
    containers: [{ name: 'main', image: 'i', ports: [{ name: 'http', containerPort: 8080 }] }],
    initContainers: [
      { name: 'setup', image: 'i', ports: [{ name: 'admin', containerPort: 9000 }] },
      // A sidecar (KEP-753): its named port resolves like a regular container's.
      {
        name: 'proxy',
        image: 'i',
        restartPolicy: 'Always',
        ports: [{ name: 'proxy', containerPort: 15001 }],
      },
    ],
  },
  status: { phase: 'Running' },
};

describe('slim pod records', () => {
  it('keep the sidecar restartPolicy, so named ports read as from the full pod', () => {
    const slim = slimObject(full, 'v1', 'Pod') as unknown as Pod;
    const fromFull = readPod({ apiVersion: 'v1', kind: 'Pod', ...full } as unknown as Pod, 'Pod app/srv');
    expect(fromFull.value.namedPorts.map((p) => p.name)).to.deep.equal(['http', 'proxy']);
    expect(readPod(slim, 'Pod app/srv').value).to.deep.equal(fromFull.value);
  });
});
