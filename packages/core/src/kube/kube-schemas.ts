// The structure of the Kubernetes objects the registry reads, checked the way the API server
// checks it, but only for the fields Meshlet reads: every object below the top level is open
// (openObj), so the fields kubectl prints that Meshlet ignores — managedFields, container specs,
// status details, whatever a newer Kubernetes adds — pass unchecked and untouched. Whole parts
// Meshlet never reads (a Node's spec and status) are `any()`.
//
// Each schema describes the object's body: everything but apiVersion, kind and metadata, which
// the loader reads itself; metadata fields only Kubernetes objects carry are `kubeMetadataSchema`.

import type { KubeKind } from './kube-types.ts';
import { any, arr, bool, int32, obj, openObj, str, strMap, type ObjectSchema, type Schema } from '../istio/validate/validate-schema.ts';

const port = (): Schema => ({ type: 'integer', min: 1, max: 65535 });
const objectReference = (): Schema => openObj({ kind: str(), name: str(), namespace: str(), uid: str() });

export const kubeMetadataSchema: ObjectSchema = openObj({
  uid: str(),
  generateName: str(),
  deletionTimestamp: str(),
  ownerReferences: arr(openObj({ apiVersion: str(), kind: str(), name: str(), uid: str(), controller: bool() }, { required: ['kind', 'name'] })),
});

const serviceSchema = obj({
  spec: openObj({
    type: str({ enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] }),
    clusterIP: str(),
    clusterIPs: arr(str()),
    externalName: str(),
    selector: strMap(),
    // targetPort is an int-or-string: checked in kube-validate.ts.
    ports: arr(openObj({ name: str(), port: port(), targetPort: any(), protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }), appProtocol: str(), nodePort: int32() }, { required: ['port'] })),
    publishNotReadyAddresses: bool(),
  }),
  status: any(),
});

const endpointSliceSchema = obj(
  {
    addressType: str({ enum: ['IPv4', 'IPv6', 'FQDN'] }),
    endpoints: arr(
      openObj(
        {
          addresses: arr(str(), { minItems: 1, maxItems: 100 }),
          conditions: openObj({ ready: bool(), serving: bool(), terminating: bool() }),
          hostname: str(),
          nodeName: str(),
          zone: str(),
          targetRef: objectReference(),
        },
        { required: ['addresses'] },
      ),
    ),
    ports: arr(openObj({ name: str(), port: { type: 'integer', min: 0, max: 65535 }, protocol: str(), appProtocol: str() })),
  },
  { required: ['addressType'] },
);

const endpointAddress = (): Schema => openObj({ ip: str(), hostname: str(), nodeName: str(), targetRef: objectReference() }, { required: ['ip'] });

const endpointsSchema = obj({
  subsets: arr(
    openObj({
      addresses: arr(endpointAddress()),
      notReadyAddresses: arr(endpointAddress()),
      ports: arr(openObj({ name: str(), port: port(), protocol: str(), appProtocol: str() }, { required: ['port'] })),
    }),
  ),
});

const containerPorts = (): Schema => arr(openObj({ name: str(), containerPort: port(), protocol: str() }, { required: ['containerPort'] }));

const podSchema = obj({
  spec: openObj({
    serviceAccountName: str(),
    serviceAccount: str(),
    nodeName: str(),
    hostname: str(),
    subdomain: str(),
    containers: arr(openObj({ name: str(), ports: containerPorts() })),
    initContainers: arr(openObj({ name: str(), ports: containerPorts(), restartPolicy: str() })),
  }),
  status: openObj({
    phase: str(),
    podIP: str(),
    podIPs: arr(openObj({ ip: str() }, { required: ['ip'] })),
    conditions: arr(openObj({ type: str(), status: str() }, { required: ['type', 'status'] })),
  }),
});

// Meshlet reads only a Node's and a Namespace's labels.
const labelsOnlySchema = obj({ spec: any(), status: any() });

export const KUBE_SCHEMAS: Readonly<Record<KubeKind, ObjectSchema>> = {
  Service: serviceSchema,
  EndpointSlice: endpointSliceSchema,
  Endpoints: endpointsSchema,
  Pod: podSchema,
  Node: labelsOnlySchema,
  Namespace: labelsOnlySchema,
};
