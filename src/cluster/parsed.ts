// The result shape of every parser here: parsers never throw; what they could not read is a Problem.

import type { Problem } from './problem.js';

export interface Parsed<T> {
  value: T;
  problems: Problem[];
}
