// --pod-rules-path: nothing is written outside the dump directory whatever the pod uid, and a dump
// failure is logged and counted, never thrown.

import { expect } from 'chai';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'mocha';
import { unsafeDumpPath, writeDumps } from '../../../src/agent/rule-dumps.js';

let top: string;
let root: string;

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

describe('rule dumps: safe paths', () => {
  beforeEach(async () => {
    top = await mkdtemp(join(tmpdir(), 'dumps-'));
    root = join(top, 'dumps');
  });
  afterEach(async () => {
    await rm(top, { recursive: true, force: true });
  });

  for (const uid of ['..', '.', '', 'x/y', '../..', '..\\x', 'a b', 'é', '-rf', '.hidden', 'a'.repeat(300)]) {
    it(`refuses the uid ${JSON.stringify(uid.slice(0, 20))}`, () => {
      expect(unsafeDumpPath(`${uid}/app-net-rep1.rules`)).to.be.a('string');
    });
  }

  it('accepts a real uid and upstream file name', () => {
    expect(unsafeDumpPath('0f5c1c9e-3b59-4b1a-9a77-6a5f1a6b2c11/app-accel-net-eth0_1.rules')).to.equal(
      undefined,
    );
  });

  it('writes good dumps, refuses hostile ones, and never throws', async () => {
    const files = new Map([
      ['good-uid/app-net-rep1.rules', 'ok\n'],
      ['../app-net-rep2.rules', 'escaped\n'],
      ['/app-net-rep3.rules', 'no uid\n'],
      ['app/pod/app-net-rep4.rules', 'uid defaulted to ns/name\n'],
    ]);
    const report = await writeDumps(root, files);
    expect(report.written).to.equal(1);
    expect(report.failed).to.have.length(3);
    expect(await readFile(join(root, 'good-uid', 'app-net-rep1.rules'), 'utf8')).to.equal('ok\n');
    expect((await readdir(top)).sort()).to.deep.equal(['dumps']);
    expect(await readdir(root)).to.deep.equal(['good-uid']);
  });

  it('does not follow a uid directory or a file planted as a symlink', async () => {
    const outside = join(top, 'outside');
    await mkdir(outside);
    await mkdir(root);
    await symlink(outside, join(root, 'uid-a'));
    await mkdir(join(root, 'uid-b'));
    await writeFile(join(outside, 'target'), 'keep\n');
    await symlink(join(outside, 'target'), join(root, 'uid-b', 'n-rep1.rules'));
    const report = await writeDumps(
      root,
      new Map([
        ['uid-a/n-rep1.rules', 'a\n'],
        ['uid-b/n-rep1.rules', 'b\n'],
      ]),
    );
    expect(report.failed).to.have.length(1);
    expect(report.failed[0]).to.contain('uid-a');
    expect(await readdir(outside)).to.deep.equal(['target']);
    expect(await readFile(join(outside, 'target'), 'utf8')).to.equal('keep\n');
    expect(await readFile(join(root, 'uid-b', 'n-rep1.rules'), 'utf8')).to.equal('b\n');
  });

  it('a dump directory that cannot be created is a logged failure, not an exception', async () => {
    await writeFile(root, 'a file where the directory should be\n');
    const report = await writeDumps(root, new Map([['uid/n-rep1.rules', 'x\n']]));
    expect(report.failed).to.have.length(1);
    expect(report.written).to.equal(0);
  });

  it('rewrites only changed files and removes dumps of pods that are gone', async () => {
    await writeDumps(
      root,
      new Map([
        ['u1/n-r1.rules', 'a\n'],
        ['u2/n-r2.rules', 'b\n'],
      ]),
    );
    const r = await writeDumps(root, new Map([['u1/n-r1.rules', 'a\n']]));
    expect(r).to.deep.equal({ written: 0, unchanged: 1, failed: [] });
    expect(await exists(join(root, 'u2'))).to.equal(false);
  });
});
