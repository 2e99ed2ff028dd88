// SIGTERM and SIGINT for the agent, caught from the moment its command starts. A signal that
// arrives while the agent still loads its modules or lists the cluster must stop it cleanly
// (rules left in place, exit 0), not kill it with the signal's default action (exit 143); the
// loop, once running, stops on the same promise.

export type StopSignal = 'SIGTERM' | 'SIGINT';

export class StopSignals {
  /** Resolves with the first stop signal received (a promise keeps its first value). */
  readonly received: Promise<StopSignal>;

  constructor(target: Pick<NodeJS.Process, 'on'> = process) {
    this.received = new Promise((resolve) => {
      // `on`, not `once`: execa's signal-exit re-raises a signal when no other listener is left.
      for (const s of ['SIGTERM', 'SIGINT'] as const) target.on(s, () => resolve(s));
    });
  }
}
