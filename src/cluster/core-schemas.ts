// Light structural schemas for the built-in kinds the agent reads (Pod, Namespace, Node) and for
// metadata, which the CRD schemas leave as a plain object. Only the fields the agent uses are checked.

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

export const METADATA_SCHEMA = {
  type: 'object',
  required: ['metadata'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1 },
        namespace: { type: 'string' },
        uid: { type: 'string' },
        resourceVersion: { type: 'string' },
        labels: stringMap,
        annotations: stringMap,
      },
    },
  },
};

const containers = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      ports: {
        type: 'array',
        items: {
          type: 'object',
          required: ['containerPort'],
          properties: {
            name: { type: 'string' },
            containerPort: { type: 'integer', minimum: 1, maximum: 65535 },
            protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
          },
        },
      },
    },
  },
};

export const POD_SCHEMA = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        nodeName: { type: 'string' },
        hostNetwork: { type: 'boolean' },
        containers,
        initContainers: containers,
      },
    },
    status: { type: 'object', properties: { phase: { type: 'string' } } },
  },
};

/** Kinds from the core API group: apiVersion "v1". Namespace and Node need only metadata. */
export const CORE_KIND_SCHEMAS: Record<string, object | undefined> = {
  Pod: POD_SCHEMA,
  Namespace: undefined,
  Node: undefined,
};
