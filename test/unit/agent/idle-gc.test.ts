// The agent collects its garbage once after a pass, when the loop stays quiet, at most once per
// interval, never in the middle of a pass; a pass starts with a collection when the heap has
// grown past a margin since the last one (a burst); nothing happens without --expose-gc. Timers never
// fire early: the "not yet" checks are exact; the "now" checks wait for the call.

import { expect } from 'chai';
import { IdleGc } from '../../../src/agent/idle-gc.js';
import { sleep, waitFor } from '../../support/wait-for.js';

describe('IdleGc', () => {
  it('collects once the loop has been quiet after a pass', async () => {
    let calls = 0;
    const idle = new IdleGc(() => calls++, 100, 0);
    const t0 = Date.now();
    idle.passEnded();
    await waitFor('the collection', () => calls === 1);
    expect(Date.now() - t0, 'not before the quiet time').to.be.at.least(100);
    await sleep(150);
    expect(calls, 'once').to.equal(1);
  });

  it('waits again when a pass starts before the quiet time is over', async () => {
    let calls = 0;
    const idle = new IdleGc(() => calls++, 100, 0);
    idle.passEnded();
    idle.passStarting();
    await sleep(200);
    expect(calls, 'cancelled by the pass').to.equal(0);
    idle.passEnded();
    await waitFor('the collection', () => calls === 1);
  });

  it('collects at most once per interval, the next one at its end', async () => {
    let calls = 0;
    const idle = new IdleGc(() => calls++, 10, 300);
    idle.passEnded();
    await waitFor('the first collection', () => calls === 1);
    const first = Date.now();
    idle.passEnded();
    await waitFor('the second collection', () => calls === 2);
    expect(Date.now() - first, 'not within the interval').to.be.at.least(290);
  });

  it('starts a pass with a collection once the heap has grown past the margin since the last one', async () => {
    let calls = 0;
    let used = 100;
    const idle = new IdleGc(
      () => {
        calls++;
        used = 100;
      },
      10,
      0,
      30,
      () => used,
    );
    used = 500;
    idle.passStarting();
    expect(calls, 'no collection before the first one: no live size known').to.equal(0);
    idle.passEnded();
    await waitFor('the idle collection', () => calls === 1);
    used = 130;
    idle.passStarting();
    expect(calls, 'grown by the margin, not past it').to.equal(1);
    used = 131;
    idle.passStarting();
    expect(calls, 'grown past the margin: collected at once').to.equal(2);
    expect(used, 'the collection ran').to.equal(100);
    used = 120;
    idle.passStarting();
    expect(calls, 'measured from the last collection').to.equal(2);
  });

  it('does nothing without a gc function (node without --expose-gc)', () => {
    expect(new IdleGc(undefined).enabled).to.equal(false);
    expect(new IdleGc(() => undefined).enabled).to.equal(true);
    // No timer is armed: nothing to call, nothing that could keep the process alive.
    new IdleGc(undefined, 1, 0).passEnded();
    new IdleGc(undefined, 1, 0, 0, () => 1e12).passStarting();
  });
});
