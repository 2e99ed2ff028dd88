// One ajv configuration for every schema the agent checks objects against.

import { Ajv } from 'ajv';

export function createAjv(): Ajv {
  // strict: false because CRD schemas carry keywords ajv does not define (description is fine,
  // but e.g. "example"); allErrors so one run reports every problem; verbose for the failing data.
  return new Ajv({ strict: false, allErrors: true, verbose: true, validateFormats: false });
}
