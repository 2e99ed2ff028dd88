// ExecaTcRunner against stand-in programs: a tc that hangs is killed at the timeout, a missing tc
// says "not found", an AbortSignal abandons the call, unreadable JSON names the command.

import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { ExecaTcRunner, ExternalCallError } from '../../../../src/tc/apply/tc-runner.js';

let dir: string;

// Like tc -batch without -force: runs lines in order, stops at the first bad one, exit 1. Each
// line it ran is appended to the file named by $RAN (when set).
const BATCH_TC = [
  'n=0',
  'while IFS= read -r line; do',
  '  n=$((n+1))',
  '  case "$line" in',
  '    *nosuchdev*) echo "Cannot find device \\"nosuchdev\\"" >&2; echo "Command failed -:$n" >&2; exit 1 ;;',
  '  esac',
  '  [ -n "$RAN" ] && echo "$line" >> "$RAN"',
  'done',
].join('\n');

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function rejection(p: Promise<unknown>): Promise<ExternalCallError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ExternalCallError);
    return e as ExternalCallError;
  }
  throw new Error('expected a rejection');
}

describe('ExecaTcRunner: timeouts and clear failures', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tc-runner-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a hanging tc write is killed at the timeout and reported as a failure', async () => {
    const tc = await script('hang-tc', 'exec sleep 30');
    const runner = new ExecaTcRunner(tc, undefined, { timeoutMs: 300 });
    const t0 = Date.now();
    const failure = await runner.batch(['filter add dev rep1 ingress']);
    expect(Date.now() - t0).to.be.lessThan(5000);
    expect(failure?.message).to.match(/tc -batch: timed out after 300 ms/);
  });

  it('a hanging tc read rejects with reason timeout', async () => {
    const tc = await script('hang-tc-read', 'exec sleep 30');
    const runner = new ExecaTcRunner(tc, undefined, { timeoutMs: 300 });
    const e = await rejection(runner.readBatch(['filter show dev rep1 ingress']));
    expect(e.reason).to.equal('timeout');
    expect(e.message).to.contain('tc -s -j -batch');
  });

  it('a missing tc says "not found", not "exit undefined"', async () => {
    const runner = new ExecaTcRunner(join(dir, 'no-such-tc'));
    const e = await rejection(runner.json(['qdisc', 'show']));
    expect(e.reason).to.equal('not-found');
    expect(e.message).to.match(/tc -j qdisc show: .*no-such-tc not found/);
    const failure = await runner.batch(['filter add dev rep1 ingress']);
    expect(failure?.message).to.match(/not found/);
  });

  it('unreadable JSON names the command', async () => {
    const tc = await script('garbage-tc', 'echo "[{\\"kind\\": "');
    const e = await rejection(new ExecaTcRunner(tc).json(['qdisc', 'show']));
    expect(e.reason).to.equal('output');
    expect(e.message).to.match(/^tc -j qdisc show: unreadable JSON output/);
  });

  it('an AbortSignal abandons the call in flight, and any later call', async () => {
    const tc = await script('slow-tc', 'exec sleep 30');
    const controller = new AbortController();
    const runner = new ExecaTcRunner(tc, undefined, { timeoutMs: 20_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const t0 = Date.now();
    const e = await rejection(runner.json(['qdisc', 'show']));
    expect(Date.now() - t0).to.be.lessThan(5000);
    expect(e.reason).to.equal('aborted');
    expect((await rejection(runner.ipJson(['link', 'show']))).reason).to.equal('aborted');
  });

  it('a tc that exits non-zero gives its stderr', async () => {
    const tc = await script('failing-tc', 'echo "Cannot find device \\"rep9\\"" >&2; exit 1');
    const e = await rejection(new ExecaTcRunner(tc).readBatch(['filter show dev rep9 ingress']));
    expect(e.reason).to.equal('exit');
    expect(e.message).to.contain('Cannot find device "rep9"');
  });

  it('a multi-line batch that fails reports the failing line, its text and the kernel message', async () => {
    const tc = await script('batch-tc', BATCH_TC);
    const lines = [
      'qdisc add dev rep1 clsact',
      'filter add dev rep1 ingress chain 0 pref 1 flower action drop',
      'qdisc add dev rep2 clsact',
      'filter add dev nosuchdev ingress chain 0 pref 1 flower action drop',
      'qdisc add dev rep3 clsact',
    ];
    const failure = await new ExecaTcRunner(tc).batch(lines);
    expect(failure).to.deep.equal({
      line: 4,
      text: lines[3],
      message: 'Cannot find device "nosuchdev"',
    });
  });

  describe('a large batch goes to tc in chunks, paced by the pipe', () => {
    const many = Array.from({ length: 50_000 }, (_, i) => `filter add dev rep${i} ingress pref ${i}`);

    it('every line arrives once, in order', async () => {
      const ran = join(dir, 'ran-large');
      const tc = await script('cat-tc', `cat > ${ran}`);
      const runner = new ExecaTcRunner(tc);
      expect(await runner.batch(many)).to.equal(undefined);
      expect(await readFile(ran, 'utf8')).to.equal(many.join('\n') + '\n');
      expect(runner.writes).to.equal(many.length);
    });

    it('a tc that stops early (a failing line) ends the sending: the failure, no hang', async () => {
      const lines = [...many];
      lines[9] = 'filter add dev nosuchdev ingress chain 0 pref 1 flower action drop';
      const tc = await script('early-fail-tc', BATCH_TC);
      const b = new ExecaTcRunner(tc).openBatch();
      b.write(lines.slice(0, 5));
      b.write(lines.slice(5));
      expect(await b.close()).to.deep.equal({
        line: 10,
        text: lines[9],
        message: 'Cannot find device "nosuchdev"',
      });
    });
  });

  describe('openBatch: the process starts before its lines are known', () => {
    const lines = [
      'qdisc add dev rep1 clsact',
      'filter add dev rep1 ingress chain 0 pref 1 flower action drop',
      'qdisc add dev rep2 clsact',
      'filter add dev nosuchdev ingress chain 0 pref 1 flower action drop',
      'qdisc add dev rep3 clsact',
    ];

    it('runs lines written in parts, in order, and counts them', async () => {
      const ran = join(dir, 'ran-ok');
      const tc = await script('open-tc', `RAN=${ran}\n${BATCH_TC}`);
      const runner = new ExecaTcRunner(tc);
      const b = runner.openBatch();
      b.write(lines.slice(0, 2));
      b.write([]);
      b.write([lines[2]!, lines[4]!]);
      expect(b.lines).to.equal(4);
      expect(await b.close()).to.equal(undefined);
      expect((await readFile(ran, 'utf8')).trim().split('\n')).to.deep.equal([
        lines[0],
        lines[1],
        lines[2],
        lines[4],
      ]);
      expect(runner.writes).to.equal(4);
    });

    it('a failing line is numbered over all the parts, with its text and message', async () => {
      const tc = await script('open-fail-tc', BATCH_TC);
      const b = new ExecaTcRunner(tc).openBatch();
      b.write(lines.slice(0, 3));
      b.write(lines.slice(3));
      expect(await b.close()).to.deep.equal({
        line: 4,
        text: lines[3],
        message: 'Cannot find device "nosuchdev"',
      });
    });

    it('nothing written: the process ends with nothing applied', async () => {
      const ran = join(dir, 'ran-none');
      const tc = await script('open-empty-tc', `RAN=${ran}\n${BATCH_TC}`);
      const runner = new ExecaTcRunner(tc);
      expect(await runner.openBatch().close()).to.equal(undefined);
      expect(runner.writes).to.equal(0);
      let exists = true;
      await readFile(ran).catch(() => (exists = false));
      expect(exists).to.equal(false);
    });

    it('a missing tc, a hanging tc and an abandoned agent are failures with line 0', async () => {
      const missing = new ExecaTcRunner(join(dir, 'no-such-tc')).openBatch();
      missing.write(lines.slice(0, 1));
      expect((await missing.close())?.message).to.match(/not found/);

      const hang = await script('open-hang-tc', 'exec sleep 30');
      const slow = new ExecaTcRunner(hang, undefined, { timeoutMs: 300 }).openBatch();
      slow.write(lines.slice(0, 1));
      const timedOut = await slow.close();
      expect(timedOut?.line).to.equal(0);
      expect(timedOut?.message).to.match(/tc -batch: timed out after 300 ms/);

      const controller = new AbortController();
      controller.abort();
      const gone = new ExecaTcRunner(hang, undefined, { signal: controller.signal }).openBatch();
      gone.write(lines.slice(0, 1));
      expect((await gone.close())?.message).to.match(/abandoned/);
    });
  });
});
