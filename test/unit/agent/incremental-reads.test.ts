// The agent loop (real CLI, stand-in tc): its first reconcile reads every device back, and a
// change that leaves the node's pipeline as it was reads none (docs/reliability.md, "What a
// reconcile reads"); the periodic resync, every 60 s, is the one that reads them all again. A
// deletion of a device's live rules by someone else, printed by `tc monitor`, gets that one device
// read and written at once.

import { expect } from 'chai';
import { execa } from 'execa';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderedDevices } from '../../support/rendered-devices.js';
import { StandInTools } from '../../support/stand-in-tools.js';

interface ReconcileLine {
  msg: string;
  full?: boolean;
  devicesRead?: number;
  how?: string;
}

/** The real CLI on a copy of examples/manifests for worker-1, with the stand-in tc. */
async function startAgent() {
  const devices = await renderedDevices('examples/manifests', 'worker-1');
  const tools = new StandInTools(['lo', ...devices]);
  // Every device has a clsact qdisc, so each read dumps its filters.
  writeFileSync(
    join(tools.dir, 'qdiscs.json'),
    JSON.stringify(devices.map((dev) => ({ kind: 'clsact', dev }))),
  );
  const manifests = mkdtempSync(join(tmpdir(), 'mnp-tc-manifests-'));
  cpSync('examples/manifests', manifests, { recursive: true });
  const agent = execa(
    'node',
    [
      'build/src/cli/main.js',
      '--manifests',
      manifests,
      '--hostname-override',
      'worker-1',
      '-v',
      '2',
      '--tc',
      tools.tc,
    ],
    { reject: false, env: tools.env(), buffer: false },
  );
  const lines: ReconcileLine[] = [];
  const log: string[] = [];
  let waiting: (() => void) | undefined;
  let rest = '';
  agent.stderr!.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      log.push(p);
      if (!p.includes('reconciled node')) continue;
      lines.push(JSON.parse(p) as ReconcileLine);
      waiting?.();
    }
  });
  const reconciles = async (n: number) => {
    const until = Date.now() + 30_000;
    while (lines.length < n && Date.now() < until)
      await new Promise<void>((r) => {
        waiting = r;
        setTimeout(r, 500);
      });
    expect(lines.length, 'reconciles logged').to.be.at.least(n);
  };
  const stop = async () => {
    agent.kill('SIGTERM');
    await agent;
    tools.remove();
    rmSync(manifests, { recursive: true, force: true });
  };
  return { devices, tools, manifests, lines, log, reconciles, stop };
}

describe('agent loop: a change that leaves the pipeline as it was reads no device', function () {
  this.timeout(60_000);

  it('the first pass is full and reads every device; a no-op change reads none', async () => {
    const { devices, manifests, lines, reconciles, stop } = await startAgent();
    try {
      await reconciles(1);
      expect(lines[0]!.full).to.equal(true);
      expect(lines[0]!.devicesRead).to.equal(devices.length);
      // A comment in a manifest: a change event, and the same pipeline.
      appendFileSync(join(manifests, 'pods.yaml'), '\n# touched\n');
      await reconciles(2);
      expect(lines[1]!.how).to.equal('no change');
      expect(lines[1]!.full).to.equal(false);
      expect(lines[1]!.devicesRead).to.equal(0);
    } finally {
      await stop();
    }
  });

  it("someone else deleting a device's qdisc (tc monitor) gets that one device read and written again at once", async () => {
    const { devices, tools, lines, log, reconciles, stop } = await startAgent();
    try {
      await reconciles(1);
      const device = devices.find((d) => d !== 'lo')!;
      const writesBefore = tools.writes().length;
      // Not the agent's: another qdisc kind, a chain it never used, a device it does not manage.
      tools.monitor('deleted qdisc mq 0: dev ' + device + ' root');
      tools.monitor(`deleted chain dev ${device} parent ffff: chain 29999`);
      tools.monitor('deleted qdisc clsact ffff: dev not-managed parent ffff:fff1');
      tools.monitor(`deleted qdisc clsact ffff: dev ${device} parent ffff:fff1 refcnt 0`);
      await reconciles(2);
      expect(lines[1]!.full).to.equal(false);
      expect(lines[1]!.devicesRead).to.equal(1);
      const rewritten = tools.writes().slice(writesBefore);
      expect(rewritten.length).to.be.greaterThan(0);
      expect(new Set(rewritten.map((l) => /dev (\S+)/.exec(l)?.[1]))).to.deep.equal(new Set([device]));
      const warnings = log.filter((l) => l.includes('deleted by someone else'));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include(`device ${device}: its rules were deleted by someone else (qdisc)`);
    } finally {
      await stop();
    }
  });

  it('a steady stream of changes does not postpone the reconcile', async () => {
    const { manifests, lines, reconciles, stop } = await startAgent();
    try {
      await reconciles(1);
      // A change every 100 ms for 4 s, less than the wait after a change (200 ms with --manifests):
      // a wait that every change pushed back would not reconcile before the stream ends.
      let streaming = true;
      const stream = (async () => {
        for (let i = 0; i < 40; i++) {
          appendFileSync(join(manifests, 'pods.yaml'), `\n# change ${i}\n`);
          await new Promise((r) => setTimeout(r, 100));
        }
        streaming = false;
      })();
      const until = Date.now() + 30_000;
      while (lines.length < 2 && streaming && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const duringStream = streaming;
      await stream;
      expect(lines.length, 'reconciles logged').to.be.at.least(2);
      expect(duringStream, 'a reconcile came while the changes went on').to.equal(true);
    } finally {
      await stop();
    }
  });
});
