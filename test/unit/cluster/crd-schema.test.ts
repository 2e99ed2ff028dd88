import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCrdDir } from '../../../src/cluster/crd-dir.js';
import { loadCrdValidators } from '../../../src/cluster/crd-schema.js';
import { openApiToJsonSchema } from '../../../src/cluster/openapi-to-json-schema.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('CRD schema loading', () => {
  it('finds deploy/crds above the compiled module and above any directory inside the repo', () => {
    const dir = findCrdDir();
    expect(existsSync(join(dir, 'multi-net-crd.yaml'))).to.equal(true);
    expect(findCrdDir(here)).to.equal(dir);
    expect(() => findCrdDir('/')).to.throw(/deploy\/crds/);
  });

  it('compiles one validator per served kind and version', () => {
    const v = loadCrdValidators();
    expect([...v.byVersionKind.keys()].sort()).to.deep.equal([
      'k8s.cni.cncf.io/v1 NetworkAttachmentDefinition',
      'k8s.cni.cncf.io/v1beta1 MultiNetworkPolicy',
      'k8s.cni.cncf.io/v1beta2 MultiNetworkPolicy',
    ]);
  });

  it('converts Kubernetes extensions to plain JSON Schema', () => {
    const out = openApiToJsonSchema({
      type: 'object',
      properties: {
        port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        n: { type: 'integer', format: 'int32', nullable: true },
        m: { type: 'object', 'x-kubernetes-map-type': 'atomic' },
      },
    });
    expect(out).to.deep.equal({
      type: 'object',
      properties: {
        port: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
        n: { type: ['integer', 'null'] },
        m: { type: 'object' },
      },
    });
    const closed = openApiToJsonSchema(
      { type: 'object', properties: { a: { type: 'object', properties: {} } } },
      { closeObjects: true },
    );
    expect(closed).to.deep.equal({
      type: 'object',
      properties: { a: { type: 'object', properties: {}, additionalProperties: false } },
      additionalProperties: false,
    });
  });
});
