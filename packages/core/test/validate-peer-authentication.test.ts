// PeerAuthentication validation, case by case, from istiod's webhook rules and the CRD's CEL rules.

import { describe } from 'vitest';
import { runCases, type Case } from './validate-case-helper.ts';

const cases: Case[] = [
  { name: 'namespace-wide STRICT', valid: true, spec: `mtls: {mode: STRICT}` },
  { name: 'empty spec (mesh-level UNSET)', valid: true, spec: `{}` },
  { name: 'workload policy with port-level modes', valid: true, spec: `selector: {matchLabels: {app: reviews}}\nmtls: {mode: PERMISSIVE}\nportLevelMtls:\n  8080: {mode: DISABLE}\n  "9090": {mode: STRICT}` },
  { name: 'DISABLE and UNSET modes', valid: true, spec: `mtls: {mode: DISABLE}` },
  { name: 'empty selector is a warning', warn: ['spec.selector.matchLabels', 'every workload'], spec: `selector: {}` },
  { name: 'unknown mode', error: ['spec.mtls.mode', 'unsupported value "BLAH"'], spec: `mtls: {mode: BLAH}` },
  { name: 'modes are case-sensitive', error: ['spec.mtls.mode', 'unsupported value "strict"'], spec: `mtls: {mode: strict}` },
  { name: 'port-level modes without a selector', error: ['spec.portLevelMtls', 'needs a selector'], spec: `portLevelMtls:\n  "80": {mode: STRICT}` },
  { name: 'port-level modes with an empty selector', error: ['spec.portLevelMtls', 'needs a selector'], spec: `selector: {matchLabels: {}}\nportLevelMtls:\n  "80": {mode: STRICT}` },
  { name: 'empty portLevelMtls', error: ['spec.portLevelMtls', 'at least 1 entry'], spec: `selector: {matchLabels: {app: a}}\nportLevelMtls: {}` },
  { name: 'port 0', error: ['spec.portLevelMtls.0', '1..65535'], spec: `selector: {matchLabels: {app: a}}\nportLevelMtls:\n  "0": {mode: STRICT}` },
  { name: 'port above 65535', error: ['spec.portLevelMtls.70000', '1..65535'], spec: `selector: {matchLabels: {app: a}}\nportLevelMtls:\n  "70000": {mode: STRICT}` },
  { name: 'port key that is not a number', error: ['spec.portLevelMtls.http', 'must be a port number'], spec: `selector: {matchLabels: {app: a}}\nportLevelMtls:\n  http: {mode: STRICT}` },
  { name: 'selector key with a wildcard', error: ['spec.selector.matchLabels.app*', 'wildcards'], spec: `selector: {matchLabels: {"app*": a}}` },
  { name: 'selector value with a wildcard', error: ['spec.selector.matchLabels.app', 'wildcards'], spec: `selector: {matchLabels: {app: "*"}}` },
  { name: 'selector with an empty key', error: ['spec.selector.matchLabels.', 'must not be empty'], spec: `selector: {matchLabels: {"": a}}` },
  { name: 'selector value too long', error: ['spec.selector.matchLabels.app', 'at most 63'], spec: `selector: {matchLabels: {app: ${'a'.repeat(64)}}}` },
  { name: 'mtls as a string', error: ['spec.mtls', 'expected an object'], spec: `mtls: STRICT` },
];

describe('PeerAuthentication validation', () => {
  runCases('PeerAuthentication', cases);
});
