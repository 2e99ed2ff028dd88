// What the agent does about each kind of problem. Shared wording, so operators see one phrase per
// consequence and other modules (the policy engine) can report the same consequence the same way.

export const EFFECT = {
  /** A MultiNetworkPolicy that fails the CRD schema: the policy engine fails it closed. */
  policyFailsClosed: 'the policy isolates the pods it selects and allows nothing',
  /** A field the CRD schema does not define. */
  fieldPruned: 'the field is ignored, as the API server prunes fields the CRD does not define',
  invalidFieldsIgnored: 'the invalid fields are ignored',
  objectIgnored: 'the object is ignored',
  documentIgnored: 'the document is ignored',
  fileIgnored: 'the file is ignored',
  interfacesUnmanaged: "the pod's secondary interfaces are left unmanaged",
  interfaceUnmanaged: 'this interface is left unmanaged',
  networkUnmanaged: 'the network is left unmanaged',
  lastWins: 'the last definition is used',
} as const;
