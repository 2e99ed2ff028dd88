// Loads the cluster source with the client library's generated API left out
// (client-library-hooks.ts). Measured with bench/cluster-agent.js (bench/README.md): importing the
// library's index costs ~65 MiB of RSS and 0.5-1 s; KubeConfig and Watch alone, ~30 MiB less.
// On Node 20 the hook runs in node's module-hooks thread (about 11 MiB of it); where node has
// in-thread hooks (registerHooks, node >= 22.15) they are used instead.

import * as nodeModule from 'node:module';

type RegisterHooks = (hooks: { resolve: unknown }) => void;

let registered = false;

async function registerOnce(): Promise<void> {
  if (registered) return;
  registered = true;
  const inThread = (nodeModule as { registerHooks?: RegisterHooks }).registerHooks;
  if (inThread) inThread({ resolve: (await import('./client-library-hooks.js')).resolve });
  else nodeModule.register('./client-library-hooks.js', import.meta.url);
}

export async function importKubeSource(): Promise<typeof import('../kube-source.js')> {
  await registerOnce();
  return import('../kube-source.js');
}
