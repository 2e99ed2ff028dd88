import { expect } from 'chai';
import { parseNetworksAnnotation } from '../../../src/cluster/parse-networks-annotation.js';

const POD = 'Pod app/p';

describe('parseNetworksAnnotation', () => {
  it('reads the short form, with namespaces and interface names', () => {
    const r = parseNetworksAnnotation('net-a, other-ns/net-c@eth1,net-b@net2', 'app', POD);
    expect(r.problems).to.deep.equal([]);
    expect(r.value).to.deep.equal([
      { namespace: 'app', name: 'net-a' },
      { namespace: 'other-ns', name: 'net-c', interface: 'eth1' },
      { namespace: 'app', name: 'net-b', interface: 'net2' },
    ]);
  });

  it('skips empty items and reports invalid names', () => {
    const r = parseNetworksAnnotation('net-a,,Bad_Name,a/b/c,ns/x@y@z', 'app', POD);
    expect(r.value).to.deep.equal([{ namespace: 'app', name: 'net-a' }]);
    expect(r.problems.map((p) => p.path)).to.deep.equal([
      'metadata.annotations["k8s.v1.cni.cncf.io/networks"][2]',
      'metadata.annotations["k8s.v1.cni.cncf.io/networks"][3]',
      'metadata.annotations["k8s.v1.cni.cncf.io/networks"][4]',
    ]);
    expect(r.problems[0]?.message).to.contain('DNS-1123');
    expect(r.problems.every((p) => p.object === POD)).to.equal(true);
  });

  it('reads the JSON form; a missing namespace is the pod namespace', () => {
    const text = JSON.stringify([
      { name: 'accel-net', interface: 'net1', ips: ['10.56.1.5/24'] },
      { name: 'net-c', namespace: 'other' },
    ]);
    const r = parseNetworksAnnotation(text, 'app', POD);
    expect(r.problems).to.deep.equal([]);
    expect(r.value).to.deep.equal([
      { namespace: 'app', name: 'accel-net', interface: 'net1' },
      { namespace: 'other', name: 'net-c' },
    ]);
  });

  it('reports malformed JSON and non-list JSON without throwing', () => {
    expect(parseNetworksAnnotation('[{"name": ', 'app', POD).problems[0]?.message).to.contain(
      'not valid JSON',
    );
    expect(parseNetworksAnnotation('{"name":"a"}', 'app', POD).problems[0]?.message).to.contain('JSON list');
    const r = parseNetworksAnnotation('[{"namespace":"x"}, 5, {"name":"ok","interface":7}]', 'app', POD);
    expect(r.value).to.deep.equal([]);
    expect(r.problems.map((p) => p.path.replace(/^.*\]\[/, '['))).to.deep.equal([
      '[0].name',
      '[1]',
      '[2].interface',
    ]);
  });
});
