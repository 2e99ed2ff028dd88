// The contract between a source of cluster state (the Kubernetes informers, a manifests
// directory) and the agent loop that consumes it.

import type { Problem } from './problem.js';
import type { ClusterSnapshot } from './snapshot.js';

/**
 * Thrown by a state source that has no complete state yet (the first LIST of some kind has not
 * succeeded, the manifests directory could not be read): the agent must not touch the kernel,
 * because a state built from a partial or empty cache would remove protection.
 */
export class SourceNotReady extends Error {
  override readonly name = 'SourceNotReady';
}

export interface StateSource {
  /** Current snapshot; throws SourceNotReady while the source has no complete state. */
  snapshot(): Promise<ClusterSnapshot>;
  /** Calls `cb` whenever the state may have changed. */
  onChange(cb: () => void): void;
  /** Report a problem with an object (a Kubernetes Event in cluster mode). */
  report?(problem: Problem): void;
  /** The source has a complete, current state (default: true). */
  ready?(): boolean;
  /** Object changes since the last call, for the reconcile log. */
  takeChanges?(): string[];
  /** Objects per kind, for the metrics. */
  cacheSizes?(): Map<string, number>;
  stop(): void;
}
