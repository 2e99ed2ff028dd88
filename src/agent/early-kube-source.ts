// The cluster source, started before the rest of the agent is loaded. Its LISTs (the API server's
// time, then each page parsed and read as it arrives) run while node loads the policy model, the
// compiler and the apply layer (~0.2-0.3 s of module loading at a cold start). Nothing here
// touches the kernel: the agent loop, loaded later, still waits for every kind's first LIST.
//
// This file loads only the logger at load time (the CLI has it already): the cluster source comes
// by a dynamic import.

import type { KubeSource, KubeSourceHooks, KubeSourceOptions } from '../cluster/kube-source.js';
import { cpuMs } from '../cluster/kube/cpu-time.js';
import { log } from '../util/log.js';

/** A started source whose counters reach the agent's metrics once those exist. */
export interface EarlyKubeSource {
  readonly source: KubeSource;
  /** Sends the counters to `hooks`, those counted before this call first. */
  bind(hooks: KubeSourceHooks): void;
}

export async function startEarlyKubeSource(o: KubeSourceOptions): Promise<EarlyKubeSource> {
  const { startKubeSource } = await import('../cluster/kube-source.js');
  let target: KubeSourceHooks | undefined;
  /** Counters reported before `bind`: the first LISTs count as relists. */
  const queued: ((h: KubeSourceHooks) => void)[] = [];
  const call = (f: (h: KubeSourceHooks) => void) => (target ? f(target) : queued.push(f));
  const source = startKubeSource(o, {
    relist: (kind) => call((h) => h.relist?.(kind)),
    watchRestart: (kind, why) => call((h) => h.watchRestart?.(kind, why)),
  });
  log.info('informers started: every kind is listing', 2, { cpuMs: cpuMs() });
  return {
    source,
    bind(hooks) {
      target = hooks;
      for (const f of queued.splice(0)) f(hooks);
    },
  };
}
