// The PeerAuthentication spec's structure, as the security.istio.io CRD declares it.

import { map, obj, str, type Schema } from './validate-schema.ts';

const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const;

export const peerAuthenticationSchema: Schema = obj({
  selector: obj({ matchLabels: map(str({ maxLength: 63 }), { maxProperties: 4096 }) }),
  mtls: obj({ mode: str({ enum: MTLS_MODES }) }),
  // Keys are port numbers; YAML may write them bare (80) or quoted ("80").
  portLevelMtls: map(obj({ mode: str({ enum: MTLS_MODES }) }), { minProperties: 1, portKeys: true }),
});
