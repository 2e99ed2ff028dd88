import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadManifestsDir,
  loadSnapshotFromDir,
  ManifestsLoader,
} from '../../../src/cluster/load-manifests.js';
import { formatProblem } from '../../../src/cluster/problem.js';
import { diffSnapshots } from '../../../src/cluster/snapshot-diff.js';
import { loadModel } from '../../../src/cli/load.js';

// build/test/unit/cluster -> repository root
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const examples = join(root, 'examples', 'manifests');
const invalid = join(root, 'examples', 'invalid');

describe('loadManifestsDir', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mnp-manifests-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('reads yaml, yml and json files recursively, in path order, expanding Lists', async () => {
    await mkdir(join(tmp, 'sub'));
    await writeFile(
      join(tmp, 'b.yml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\n# empty\n',
    );
    await writeFile(
      join(tmp, 'a.json'),
      JSON.stringify({ kind: 'List', items: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }] }),
    );
    await writeFile(join(tmp, 'sub', 'c.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n');
    await writeFile(join(tmp, 'notes.txt'), 'not a manifest');
    const r = await loadManifestsDir(tmp);
    expect(r.errors).to.deep.equal([]);
    expect(r.objects.map((o) => o.source)).to.deep.equal([
      `${join(tmp, 'a.json')}#1.items[0]`,
      `${join(tmp, 'b.yml')}#1`,
      `${join(tmp, 'sub', 'c.yaml')}#1`,
    ]);
  });

  it('gives the same objects for an unchanged file on the next load, and new ones for a changed file', async () => {
    // The agent reloads the directory on every change; the incremental path recognises unchanged
    // objects by identity.
    await writeFile(join(tmp, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    await writeFile(join(tmp, 'b.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n');
    const loader = new ManifestsLoader();
    const first = await loader.load(tmp);
    await writeFile(
      join(tmp, 'b.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: b, labels: {x: y}}\n',
    );
    const second = await loader.load(tmp);
    expect(second.objects[0]!.obj).to.equal(first.objects[0]!.obj);
    expect(second.objects[1]!.obj).to.not.equal(first.objects[1]!.obj);
    expect(second.objects[1]!.obj).to.deep.include({ metadata: { name: 'b', labels: { x: 'y' } } });
    // Another loader (another CLI run, another agent) remembers nothing of this one's reads.
    const other = await new ManifestsLoader().load(tmp);
    expect(other.objects[0]!.obj).to.not.equal(second.objects[0]!.obj);
    expect(other.objects[0]!.obj).to.deep.equal(second.objects[0]!.obj);
  });

  it('names the file and document of a bad document, and loads the rest', async () => {
    const r = await loadManifestsDir(invalid);
    const messages = r.errors.map(formatProblem);
    expect(
      messages.some((m) =>
        m.includes(`${join(invalid, 'unknown-kind.yaml')} document 2: unknown kind "Foo"`),
      ),
    ).to.equal(true);
    const yamlError = r.errors.find((e) => e.object.endsWith('bad-yaml.yaml document 2'));
    expect(yamlError?.message).to.match(/^YAML syntax error: .*line 10/);
    expect(yamlError?.severity).to.equal('error');
    const names = r.objects.map((o) => (o.obj as { metadata: { name: string } }).metadata.name);
    expect(names).to.include.members(['bad-yaml-one', 'bad-yaml-three', 'unknown-kind-ns']);
  });

  it('throws a clear error for a missing directory', async () => {
    let err: unknown;
    try {
      await loadManifestsDir(join(tmp, 'nope'));
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain('no such directory');
  });
});

describe('loadSnapshotFromDir', () => {
  it('reloads an unchanged directory to a snapshot the incremental path pairs up by identity', async () => {
    const loader = new ManifestsLoader();
    const first = await loader.snapshot(examples);
    const second = await loader.snapshot(examples);
    expect(second.pods.every((p, i) => p === first.pods[i])).to.equal(true);
    expect(diffSnapshots(first, second)).to.deep.equal({ kind: 'pods', changed: [] });
    // A one-shot load keeps nothing: the same content in new values.
    const alone = await loadSnapshotFromDir(examples);
    expect(alone.pods.some((p, i) => p === first.pods[i])).to.equal(false);
    expect(alone.pods).to.deep.equal(first.pods);
  });

  it('loads the examples with no error problems', async () => {
    const s = await loadSnapshotFromDir(examples);
    expect(s.problems.filter((p) => p.severity === 'error').map(formatProblem)).to.deep.equal([]);
    expect(s.problems.map(formatProblem)).to.deep.equal([]);
    expect(s.pods).to.have.length(9);
    expect(s.policies).to.have.length(6);
    expect([...s.nodes.keys()]).to.deep.equal(['worker-1', 'worker-2']);
    expect([...s.namespaces.keys()].sort()).to.deep.equal(['app', 'x', 'y', 'z']);
    expect(s.networks.get('app/macvlan-net')?.pluginType).to.equal('macvlan');
    const db = s.pods.find((p) => p.name === 'db');
    expect(db?.interfaces.map((i) => i.network)).to.deep.equal(['app/accel-net', 'app/accel-net-2']);
  });

  it('every representor is unique per node in the examples', async () => {
    const s = await loadSnapshotFromDir(examples);
    for (const node of ['worker-1', 'worker-2']) {
      const reps = s.pods
        .filter((p) => p.nodeName === node)
        .flatMap((p) => p.interfaces.flatMap((i) => i.representor ?? []));
      expect(new Set(reps).size, node).to.equal(reps.length);
    }
  });

  it('reports syntax errors as problems and keeps the invalid policies', async () => {
    const s = await loadSnapshotFromDir(invalid);
    expect(s.problems.some((p) => p.message.startsWith('YAML syntax error'))).to.equal(true);
    expect(s.policies.map((p) => p.metadata.name).sort()).to.deep.equal(['bad-cidr', 'schema-invalid']);
    const schemaErrors = s.problems.filter((p) => p.object === 'MultiNetworkPolicy app/schema-invalid');
    expect(schemaErrors.map((p) => p.path)).to.have.members([
      'spec.ingress[0].ports[0].port',
      'spec.ingress[0].ports[1].endPort',
      'spec.ingress[0].from[0].ipBlock.cidr',
    ]);
  });

  it('problems the policy engine finds name the file of their object', async () => {
    const { model } = await loadModel(invalid, ['accelerated-bridge'], true);
    const cidr = model.problems.filter((p) => p.object === 'MultiNetworkPolicy app/bad-cidr');
    expect(cidr.length).to.be.greaterThan(0);
    for (const p of cidr) expect(p.source).to.match(/bad-cidr-policy\.yaml#1$/);
  });
});
