// WorkloadEntry validation, case by case, from istiod's webhook rules and the CRD's CEL rules.

import { describe } from 'vitest';
import { runCases, type Case } from './validate-case-helper.ts';

const cases: Case[] = [
  { name: 'full entry', valid: true, spec: `address: 1.2.3.4\nserviceAccount: sa\nnetwork: net\nlabels: {app: vm}\nports: {http: 8080}\nweight: 2\nlocality: us-west/zone1/rack1` },
  { name: 'IPv6 address', valid: true, spec: `address: "2001:db8::1"` },
  { name: 'DNS name address', valid: true, spec: `address: vm1.example.com` },
  { name: 'absolute unix socket', valid: true, spec: `address: unix:///var/run/app.sock` },
  { name: 'abstract unix socket', valid: true, spec: `address: unix://@app` },
  { name: 'network without address is a warning', warn: ['spec', 'address is unset'], spec: `network: remote` },
  { name: 'missing address', error: ['spec.address', 'address is required'], spec: `labels: {app: vm}` },
  { name: 'empty address', error: ['spec.address', 'address is required'], spec: `address: ""` },
  { name: 'relative unix socket', error: ['spec.address', 'absolute path'], spec: `address: unix://relative.sock` },
  { name: 'unix socket that is a directory', error: ['spec.address', 'is a directory'], spec: `address: unix:///var/run/` },
  { name: 'unix socket with ports', error: ['spec.ports', 'cannot have ports'], spec: `address: unix:///var/run/a.sock\nports: {http: 80}` },
  { name: 'port 0', error: ['spec.ports.http', '1..65535'], spec: `address: 1.2.3.4\nports: {http: 0}` },
  { name: 'port above 65535', error: ['spec.ports.http', '1..65535'], spec: `address: 1.2.3.4\nports: {http: 65536}` },
  { name: 'port name "@"', error: ['spec.ports.@', 'DNS-1123 label'], spec: `address: 1.2.3.4\nports: {"@": 80}` },
  { name: 'port name of 63 characters', error: [`spec.ports.${'a'.repeat(63)}`, 'at most 62'], spec: `address: 1.2.3.4\nports: {${'a'.repeat(63)}: 80}` },
  { name: 'address that is neither IP nor name', error: ['spec.address', 'neither an IP address nor a DNS name'], spec: `address: "bad host!"` },
  { name: 'bad label key', error: ['spec.labels.-app', 'label key'], spec: `address: 1.2.3.4\nlabels: {"-app": a}` },
  { name: 'label value too long', error: ['spec.labels.app', 'longer than 63'], spec: `address: 1.2.3.4\nlabels: {app: ${'a'.repeat(64)}}` },
  { name: 'negative weight', error: ['spec.weight', 'out of range'], spec: `address: 1.2.3.4\nweight: -1` },
  { name: 'service account too long', error: ['spec.serviceAccount', 'at most 253'], spec: `address: 1.2.3.4\nserviceAccount: ${'a'.repeat(254)}` },
  { name: 'ports as a list', error: ['spec.ports', 'expected a map'], spec: `address: 1.2.3.4\nports: [80]` },
];

describe('WorkloadEntry validation', () => {
  runCases('WorkloadEntry', cases);
});
