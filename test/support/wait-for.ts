// Polls a condition until it holds or a deadline passes (tests of asynchronous components).

export async function waitFor(what: string, cond: () => boolean, ms = 5000, everyMs = 10): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Date.now() - t0;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
