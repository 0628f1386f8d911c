// The messages the analyzers report. Where `istioctl analyze` has a message for the same finding
// the code, name and level are its own (istio/istio pkg/config/analysis/msg/messages.yaml), so
// a team can search for IST0101 and find Istio's documentation; findings istioctl has no message
// for carry a Meshlet code, MSH followed by four digits.

import type { Severity } from '../../config-error.ts';

export interface MessageType {
  code: string;
  level: Severity;
  description: string;
}

export const MESSAGES = {
  ReferencedResourceNotFound: { code: 'IST0101', level: 'error', description: 'A resource being referenced does not exist.' },
  ConflictingMeshGatewayVirtualServiceHosts: { code: 'IST0109', level: 'error', description: 'Conflicting hosts on VirtualServices associated with the mesh gateway.' },
  VirtualServiceUnreachableRule: { code: 'IST0130', level: 'warning', description: 'A VirtualService rule will never be used because a previous rule uses the same match.' },
  VirtualServiceIneffectiveMatch: { code: 'IST0131', level: 'info', description: 'A VirtualService rule match duplicates a match in a previous rule.' },
  DestinationRuleSubsetNotSelectPods: { code: 'IST0173', level: 'error', description: 'A subset defined in a DestinationRule selects no endpoint.' },
  UnknownDestinationRuleHost: { code: 'IST0174', level: 'warning', description: 'The host of a DestinationRule matches no service in the mesh.' },
  MultipleTelemetriesWithoutWorkloadSelectors: { code: 'IST0160', level: 'error', description: 'More than one Telemetry resource in a namespace has no workload selector.' },
  MultipleSidecarsWithoutWorkloadSelectors: { code: 'IST0111', level: 'error', description: 'More than one sidecar resource in a namespace has no workload selector.' },
  ConflictingServiceEntryProtocol: { code: 'IST0177', level: 'warning', description: 'Several ServiceEntries define the same host and port with different protocols.' },
  VirtualServiceHostNotFound: { code: 'MSH0001', level: 'warning', description: 'A VirtualService host is declared by no service, so its rules route nothing.' },
  ConflictingDestinationRules: { code: 'MSH0002', level: 'warning', description: 'Several DestinationRules for one host merge, and a later one loses a subset or its trafficPolicy.' },
  TlsConflictsWithPeerAuthentication: { code: 'MSH0003', level: 'error', description: "A DestinationRule's TLS mode cannot talk to the mTLS mode a PeerAuthentication sets on the endpoints." },
} as const satisfies Record<string, MessageType>;

export type MessageName = keyof typeof MESSAGES;
