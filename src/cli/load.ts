// Shared by the commands: read a manifests directory into the policy model, logging problems.

import type { ClusterSnapshot } from '../cluster/snapshot.js';
import { formatProblem } from '../cluster/problem.js';
import { ManifestsLoader } from '../cluster/load-manifests.js';
import { withObjectSources } from '../cluster/build-snapshot.js';

export { checkManifestsDir, ManifestsPathError } from '../cluster/load-manifests.js';
export { parsePluginList } from './plugin-list.js';
import { buildPolicyModel } from '../policy/build-model.js';
import type { PolicyModel } from '../policy/types.js';
import { log } from '../util/log.js';

export interface Loaded {
  snapshot: ClusterSnapshot;
  model: PolicyModel;
}

export async function loadModel(dir: string, networkPlugins: string[], quiet = false): Promise<Loaded> {
  // One read of the directory: the loader's memory of each file serves nothing more here.
  const snapshot = await new ManifestsLoader().snapshot(dir);
  const built = buildPolicyModel(snapshot, { networkPlugins });
  // The policy engine sees objects, not files: name the file of each problem's object.
  const model = { ...built, problems: withObjectSources(snapshot, built.problems) };
  if (!quiet) for (const p of model.problems) log.warn(formatProblem(p));
  return { snapshot, model };
}
