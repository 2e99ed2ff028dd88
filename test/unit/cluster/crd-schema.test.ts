import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('compiles the structural validator on first use; closed acceptance implies validity unless the schema negates', () => {
    const v = loadCrdValidators().byVersionKind.get('k8s.cni.cncf.io/v1beta1 MultiNetworkPolicy')!;
    expect(v.closedImpliesValid).to.equal(true);
    expect(v.structural()).to.equal(v.structural());
    const dir = mkdtempSync(join(tmpdir(), 'mnp-crds-'));
    try {
      const crd = (schema: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.com
  names: { kind: Thing }
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema: ${schema}
`;
      writeFileSync(join(dir, 'a.yaml'), crd('{ type: object, properties: { spec: { type: object } } }'));
      writeFileSync(
        join(dir, 'b.yaml'),
        crd(
          '{ type: object, properties: { spec: { not: { type: object, properties: { a: {} } } } } }',
        ).replace('Thing', 'Other'),
      );
      const loaded = loadCrdValidators(dir);
      expect(loaded.byVersionKind.get('example.com/v1 Thing')!.closedImpliesValid).to.equal(true);
      // Closing the object under `not` would make {"b": 1} pass `not` in the closed schema only.
      const other = loaded.byVersionKind.get('example.com/v1 Other')!;
      expect(other.closedImpliesValid).to.equal(false);
      expect(other.closed({ spec: { b: 1 } })).to.equal(true);
      expect(other.structural()({ spec: { b: 1 } })).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
