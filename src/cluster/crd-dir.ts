// Where the CRD YAML files live. They ship in deploy/crds of the repository (or image), so the
// agent validates with exactly the schema it installs. An environment variable can point elsewhere.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CRD_DIR_ENV = 'MULTI_NETWORKPOLICY_TC_CRD_DIR';
const MARKER = join('deploy', 'crds', 'multi-net-crd.yaml');

/**
 * Finds deploy/crds by walking up from `start` (default: this module's directory, which is
 * build/src/cluster when compiled and src/cluster when run from source).
 */
export function findCrdDir(start: string = dirname(fileURLToPath(import.meta.url))): string {
  const fromEnv = process.env[CRD_DIR_ENV];
  if (fromEnv) return resolve(fromEnv);
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, MARKER))) return join(dir, 'deploy', 'crds');
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find ${MARKER} above ${start}; set ${CRD_DIR_ENV} to the CRD directory`);
    }
    dir = parent;
  }
}
