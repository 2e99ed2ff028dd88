// Runs commands inside the lab guest. Process starts cost 25-50 ms under TCG, so callers batch
// work into one bash script wherever they can.

import { execa } from 'execa';

export async function sh(script: string, opts: { allowFail?: boolean } = {}): Promise<string> {
  const r = await execa('bash', ['-c', script], { reject: false });
  if (r.exitCode !== 0 && !opts.allowFail) {
    throw new Error(
      `script failed (exit ${r.exitCode}):\n${script.slice(0, 2000)}\n--- stderr:\n${r.stderr}`,
    );
  }
  return r.stdout;
}

export async function tcJson(ns: string, args: string): Promise<unknown[]> {
  const out = await sh(`ip netns exec ${ns} tc -s -j ${args}`);
  return out.trim() ? (JSON.parse(out) as unknown[]) : [];
}

/** Fails loudly unless this process runs inside the lab VM with flower and act_ct available. */
export async function assertLab(): Promise<void> {
  if (process.env.KERNEL_LAB !== '1') {
    throw new Error('kernel tests must run inside the QEMU lab: use `make test-kernel` (test/lab/run.sh)');
  }
  await sh(
    'ip netns add lab-probe && ip -n lab-probe link add d0 type dummy && ip netns exec lab-probe tc qdisc add dev d0 clsact && ' +
      'ip netns exec lab-probe tc filter add dev d0 ingress protocol ip flower action ct zone 1 pipe action gact pass; rc=$?; ip netns del lab-probe; exit $rc',
  );
}
