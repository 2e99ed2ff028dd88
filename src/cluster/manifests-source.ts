// Cluster state from a manifests directory, reloaded when a file changes. A directory that cannot
// be read is not an empty cluster: until a first good read the source is not ready (nothing is
// applied), and after one a failed read keeps the last good snapshot.

import { watch, type FSWatcher } from 'node:fs';
import type { ClusterSnapshot } from './snapshot.js';
import { ManifestsLoader } from './load-manifests.js';
import { errorText, log } from '../util/log.js';
import { SourceNotReady, type StateSource } from './state-source.js';

/** Reads the directory with a loader of its own, which rereads only the files that changed. */
function ownLoader(): (dir: string) => Promise<ClusterSnapshot> {
  const loader = new ManifestsLoader();
  return (dir) => loader.snapshot(dir);
}

export function manifestsSource(dir: string, load = ownLoader()): StateSource {
  const listeners: (() => void)[] = [];
  let watcher: FSWatcher | undefined;
  let last: ClusterSnapshot | undefined;
  let failing: string | undefined;
  let stopped = false;
  const arm = () => {
    if (watcher || stopped) return;
    try {
      watcher = watch(dir, { recursive: true }, () => listeners.forEach((l) => l()));
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      // The directory is not there (yet): the loop's retries read it again.
    }
  };
  arm();
  return {
    async snapshot() {
      try {
        const s = await load(dir);
        if (failing !== undefined) log.info(`manifests directory ${dir} is readable again`);
        failing = undefined;
        last = s;
        arm();
        return s;
      } catch (e) {
        const text = errorText(e);
        if (text !== failing) {
          const keep = last ? 'keeping the last good state' : 'nothing is applied until it can be read';
          log.error(`cannot read manifests directory ${dir}: ${text}; ${keep}`);
        }
        failing = text;
        if (!last) throw new SourceNotReady(`manifests directory ${dir} cannot be read: ${text}`);
        return last;
      }
    },
    onChange: (cb) => listeners.push(cb),
    ready: () => last !== undefined && failing === undefined,
    stop: () => {
      stopped = true;
      watcher?.close();
    },
  };
}
