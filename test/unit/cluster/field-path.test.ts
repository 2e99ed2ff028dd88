import { expect } from 'chai';
import { childPath, pointerToFieldPath } from '../../../src/cluster/field-path.js';

describe('field paths', () => {
  it('converts JSON pointers to dotted paths with indices', () => {
    expect(pointerToFieldPath('')).to.equal('');
    expect(pointerToFieldPath('/spec/ingress/0/ports/1/port')).to.equal('spec.ingress[0].ports[1].port');
    expect(pointerToFieldPath('/spec/podSelector/matchLabels/app.kubernetes.io~1name')).to.equal(
      'spec.podSelector.matchLabels["app.kubernetes.io/name"]',
    );
  });

  it('quotes keys that are not identifiers', () => {
    expect(childPath('metadata.annotations', 'k8s.v1.cni.cncf.io/networks')).to.equal(
      'metadata.annotations["k8s.v1.cni.cncf.io/networks"]',
    );
    expect(childPath('', 'spec')).to.equal('spec');
    expect(childPath('a', 3)).to.equal('a[3]');
  });
});
