// The only I/O of representor discovery: a few synchronous reads of sysfs under a root directory
// (`--sysfs-root`, default `/`). sysfs attributes are in-memory kernel state, so synchronous reads
// are cheap; they keep the resolver a plain function of what it reads. Tests pass an in-memory
// tree or a fixture directory.

import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface SysFs {
  /** Target of a symbolic link as written in the link; undefined when `path` is not a link. */
  readlink(path: string): string | undefined;
  /** Entry names of a directory (links followed); undefined when it cannot be listed. */
  list(path: string): string[] | undefined;
  /** A one-line attribute, trimmed; undefined when missing or unreadable (e.g. EOPNOTSUPP). */
  read(path: string): string | undefined;
  /** Whether `path` resolves, links followed (a dangling link does not). */
  exists(path: string): boolean;
}

/** sysfs of this host (or a copy of one) under `root`; every path the resolver asks is absolute. */
export function hostSysFs(root = '/'): SysFs {
  const at = (p: string) => join(root, p);
  return {
    readlink(p) {
      try {
        return readlinkSync(at(p));
      } catch {
        return undefined;
      }
    },
    list(p) {
      try {
        return readdirSync(at(p)).sort();
      } catch {
        return undefined;
      }
    },
    read(p) {
      try {
        return readFileSync(at(p), 'utf8').trim();
      } catch {
        return undefined;
      }
    },
    exists(p) {
      try {
        statSync(at(p));
        return true;
      } catch {
        return false;
      }
    },
  };
}
