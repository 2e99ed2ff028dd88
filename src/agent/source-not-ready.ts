// Thrown by a state source that has no complete state yet (the first LIST of some kind has not
// succeeded, the manifests directory could not be read): the agent must not touch the kernel,
// because a state built from a partial or empty cache would remove protection.

export class SourceNotReady extends Error {
  override readonly name = 'SourceNotReady';
}
