// Node has no mkfifo(3): the corpus makes its FIFOs with the coreutils command.

import { execa } from 'execa';

export async function mkfifo(path: string): Promise<void> {
  await execa('mkfifo', [path]);
}
