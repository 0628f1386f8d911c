// Kubernetes ObjectMeta and ListMeta (meta/v1), as `kubectl get -o yaml` prints them: every
// field an object read back from a cluster carries is legal (uid, resourceVersion,
// managedFields, ownerReferences, ...), and anything else — `lables`, `namespce` — is an unknown
// field like any other. name, namespace, labels, annotations and creationTimestamp are checked
// by the loader with messages of their own, so here they only need to be known.

import { any, arr, bool, obj, str, type ObjectSchema } from './validate-schema.ts';

const int64 = () => ({ type: 'integer', min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }) as const;

export const objectMetaSchema: ObjectSchema = obj({
  name: any(),
  namespace: any(),
  labels: any(),
  annotations: any(),
  creationTimestamp: any(),
  generateName: str(),
  selfLink: str(),
  uid: str(),
  resourceVersion: str(),
  generation: int64(),
  deletionTimestamp: str(),
  deletionGracePeriodSeconds: int64(),
  finalizers: arr(str()),
  ownerReferences: arr(obj(
    { apiVersion: str(), kind: str(), name: str(), uid: str(), controller: bool(), blockOwnerDeletion: bool() },
    { required: ['kind', 'name'] },
  )),
  managedFields: arr(obj({
    manager: str(),
    operation: str(),
    apiVersion: str(),
    time: str(),
    fieldsType: str(),
    // The set of fields the manager owns, in the object's own shape: not checked.
    fieldsV1: any(),
    subresource: str(),
  })),
});

export const listMetaSchema: ObjectSchema = obj({
  selfLink: str(),
  resourceVersion: str(),
  continue: str(),
  remainingItemCount: int64(),
});
