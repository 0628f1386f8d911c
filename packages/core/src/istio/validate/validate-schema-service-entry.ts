// The ServiceEntry and WorkloadEntry specs' structure, as the networking.istio.io CRDs declare
// them. A ServiceEntry endpoint is a WorkloadEntry spec, so the two share one schema.

import { arr, map, obj, str, uint32, type ObjectSchema, type Schema } from './validate-schema.ts';

export const workloadEntrySchema = (): ObjectSchema =>
  obj({
    address: str({ maxLength: 256 }),
    ports: map(uint32(), { maxProperties: 128 }),
    labels: map(str(), { maxProperties: 256 }),
    network: str({ maxLength: 2048 }),
    locality: str({ maxLength: 2048 }),
    weight: uint32(),
    serviceAccount: str({ maxLength: 253 }),
  });

export const serviceEntrySchema: Schema = obj(
  {
    hosts: arr(str(), { minItems: 1, maxItems: 256 }),
    addresses: arr(str({ maxLength: 64 }), { maxItems: 256 }),
    ports: arr(
      obj({ number: uint32(), protocol: str({ maxLength: 256 }), name: str({ maxLength: 256 }), targetPort: uint32() }, { required: ['number', 'name'] }),
      { maxItems: 256 },
    ),
    location: str({ enum: ['MESH_EXTERNAL', 'MESH_INTERNAL'] }),
    resolution: str({ enum: ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'] }),
    endpoints: arr(workloadEntrySchema(), { maxItems: 4096 }),
    workloadSelector: obj({ labels: map(str({ maxLength: 63 }), { maxProperties: 256 }) }),
    exportTo: arr(str()),
    subjectAltNames: arr(str()),
  },
  { required: ['hosts'] },
);
