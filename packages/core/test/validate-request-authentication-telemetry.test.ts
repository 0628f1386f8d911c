// RequestAuthentication and Telemetry validation, case by case, from istiod's webhook
// (ValidateRequestAuthentication, ValidateTelemetry) and the CRDs' schemas and CEL rules — plus
// the warnings for what Meshlet cannot honour.

import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { runCases, type Case } from './validate-case-helper.ts';

const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] });

const requestAuthentication: Case[] = [
  { name: 'issuer with jwksUri', valid: true, spec: `jwtRules:\n- issuer: https://issuer.example.com\n  jwksUri: https://issuer.example.com/jwks.json` },
  { name: 'everything set', valid: true, spec: `selector: {matchLabels: {app: reviews}}\njwtRules:\n- issuer: iss\n  audiences: [a, b]\n  jwks: '${jwks}'\n  fromHeaders: [{name: x-jwt, prefix: "Bearer "}]\n  fromParams: [token]\n  fromCookies: [session]\n  outputPayloadToHeader: x-jwt-payload\n  forwardOriginalToken: true\n  outputClaimToHeaders: [{header: x-sub, claim: sub}]\n  timeout: 3s` },
  { name: 'jwks_uri spelling', valid: true, spec: `jwtRules:\n- issuer: iss\n  jwks_uri: http://keys.local/jwks` },
  { name: 'issuer and jwksUri both missing', error: ['spec.jwtRules[0].issuer', 'issuer or jwksUri must be non-empty string'], spec: `jwtRules:\n- audiences: [a]` },
  { name: 'jwksUri is not a URL', error: ['spec.jwtRules[0].jwksUri', 'not a valid URL'], spec: `jwtRules:\n- issuer: iss\n  jwksUri: "not a url"` },
  { name: 'jwksUri with another scheme', error: ['spec.jwtRules[0].jwksUri', 'URI scheme "ftp" is not supported'], spec: `jwtRules:\n- issuer: iss\n  jwksUri: ftp://keys.local/jwks` },
  { name: 'jwks and jwksUri together', error: ['spec.jwtRules[0].jwks', 'only one of jwksUri, jwks_uri, jwks'], spec: `jwtRules:\n- issuer: iss\n  jwksUri: https://k/jwks\n  jwks: '${jwks}'` },
  { name: 'jwks that is not a JWKS', error: ['spec.jwtRules[0].jwks', 'jwks parse error'], spec: `jwtRules:\n- issuer: iss\n  jwks: '{"nokeys": 1}'` },
  { name: 'jwks with a private key', warn: ['spec.jwtRules[0].jwks', 'private key material'], spec: `jwtRules:\n- issuer: iss\n  jwks: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'` },
  { name: 'empty audience', error: ['spec.jwtRules[0].audiences[0]', 'audience must be non-empty string'], spec: `jwtRules:\n- issuer: iss\n  audiences: [""]` },
  { name: 'empty header name', error: ['spec.jwtRules[0].fromHeaders[0].name', 'location header name must be non-empty string'], spec: `jwtRules:\n- issuer: iss\n  fromHeaders: [{name: ""}]` },
  { name: 'header without a name', error: ['spec.jwtRules[0].fromHeaders[0].name', 'name is required'], spec: `jwtRules:\n- issuer: iss\n  fromHeaders: [{prefix: "Bearer "}]` },
  { name: 'empty query parameter', error: ['spec.jwtRules[0].fromParams[0]', 'location query must be non-empty string'], spec: `jwtRules:\n- issuer: iss\n  fromParams: [""]` },
  { name: 'empty cookie', error: ['spec.jwtRules[0].fromCookies[0]', 'cookie name must be non-empty string'], spec: `jwtRules:\n- issuer: iss\n  fromCookies: [""]` },
  { name: 'claim header with a bad character', error: ['spec.jwtRules[0].outputClaimToHeaders[0].header', 'must match'], spec: `jwtRules:\n- issuer: iss\n  outputClaimToHeaders: [{header: "x sub", claim: sub}]` },
  { name: 'claim header without a claim', error: ['spec.jwtRules[0].outputClaimToHeaders[0]', 'must be non-empty string'], spec: `jwtRules:\n- issuer: iss\n  outputClaimToHeaders: [{header: x-sub, claim: ""}]` },
  { name: 'timeout under 1ms', error: ['spec.jwtRules[0].timeout', 'greater than 1ms'], spec: `jwtRules:\n- issuer: iss\n  timeout: 0s` },
  { name: 'timeout not a duration', error: ['spec.jwtRules[0].timeout', 'Go duration'], spec: `jwtRules:\n- issuer: iss\n  timeout: soon` },
  { name: 'selector and targetRef', error: ['spec.selector', 'only one of targetRefs or selector'], spec: `selector: {matchLabels: {app: a}}\ntargetRef: {kind: Gateway, name: g}\njwtRules:\n- issuer: iss` },
  { name: 'forwardOriginalToken as a string', error: ['spec.jwtRules[0].forwardOriginalToken', 'expected true or false'], spec: `jwtRules:\n- issuer: iss\n  forwardOriginalToken: "yes"` },
];

const telemetry: Case[] = [
  { name: 'tracing and metric overrides', valid: true, spec: `tracing:\n- randomSamplingPercentage: 10\n  customTags:\n    team: {literal: {value: payments}}\n    user: {header: {name: x-user, defaultValue: anon}}\n    pod: {environment: {name: POD_NAME}}\nmetrics:\n- overrides:\n  - match: {metric: REQUEST_COUNT, mode: CLIENT}\n    tagOverrides:\n      http.request.method: {operation: REMOVE}\n      team: {value: "'payments'"}\n  - match: {metric: REQUEST_DURATION}\n    disabled: true` },
  { name: 'sampling above 100', error: ['spec.tracing[0].randomSamplingPercentage', 'at most 100'], spec: `tracing:\n- randomSamplingPercentage: 101` },
  { name: 'sampling below 0', error: ['spec.tracing[0].randomSamplingPercentage', 'at least 0'], spec: `tracing:\n- randomSamplingPercentage: -1` },
  { name: 'empty literal tag', error: ['spec.tracing[0].customTags.t.literal.value', 'literal tag value may not be empty'], spec: `tracing:\n- customTags:\n    t: {literal: {value: ""}}` },
  { name: 'empty header tag name', error: ['spec.tracing[0].customTags.t.header.name', 'header tag name may not be empty'], spec: `tracing:\n- customTags:\n    t: {header: {name: ""}}` },
  { name: 'tag with two kinds', error: ['spec.tracing[0].customTags.t.header', 'only one of literal, environment, header, formatter'], spec: `tracing:\n- customTags:\n    t: {literal: {value: a}, header: {name: b}}` },
  { name: 'tag with no kind', error: ['spec.tracing[0].customTags.t', 'may not have a nil value'], spec: `tracing:\n- customTags:\n    t: {}` },
  { name: 'UPSERT without a value', error: ['spec.metrics[0].overrides[0].tagOverrides.t.value', 'must be set when operation is UPSERT'], spec: `metrics:\n- overrides:\n  - tagOverrides:\n      t: {operation: UPSERT}` },
  { name: 'REMOVE with a value', error: ['spec.metrics[0].overrides[0].tagOverrides.t.value', 'may only be set when operation is UPSERT'], spec: `metrics:\n- overrides:\n  - tagOverrides:\n      t: {operation: REMOVE, value: "'x'"}` },
  { name: 'unknown metric', error: ['spec.metrics[0].overrides[0].match.metric', 'unsupported value "REQUESTS"'], spec: `metrics:\n- overrides:\n  - match: {metric: REQUESTS}` },
  { name: 'metric and customMetric', error: ['spec.metrics[0].overrides[0].match.customMetric', 'only one of metric, customMetric'], spec: `metrics:\n- overrides:\n  - match: {metric: REQUEST_COUNT, customMetric: x}` },
  { name: 'empty provider name', error: ['spec.tracing[0].providers[0].name', 'providers.name may not be empty'], spec: `tracing:\n- providers: [{name: ""}]` },
  { name: 'unknown mode', error: ['spec.tracing[0].match.mode', 'unsupported value "BOTH"'], spec: `tracing:\n- match: {mode: BOTH}` },
  { name: 'expression Meshlet cannot evaluate', warn: ['spec.metrics[0].overrides[0].tagOverrides.app.value', 'cannot evaluate'], spec: `metrics:\n- overrides:\n  - tagOverrides:\n      app: {value: "upstream_peer.labels['app'].value"}` },
  { name: 'a metric Meshlet does not record', warn: ['spec.metrics[0].overrides[0].match.metric', 'records no TCP_SENT_BYTES'], spec: `metrics:\n- overrides:\n  - match: {metric: TCP_SENT_BYTES}\n    disabled: true` },
  { name: 'formatter tag', warn: ['spec.tracing[0].customTags.f.formatter', 'not evaluated'], spec: `tracing:\n- customTags:\n    f: {formatter: {value: "%REQ(:PATH)%"}}` },
  { name: 'two tracing entries', warn: ['spec.tracing', 'multiple tracing'], spec: `tracing:\n- randomSamplingPercentage: 1\n- randomSamplingPercentage: 2` },
  { name: 'reporting interval of 0s', error: ['spec.metrics[0].reportingInterval', 'at least 1ms'], spec: `metrics:\n- reportingInterval: 0s` },
];

describe('RequestAuthentication validation', () => {
  runCases('RequestAuthentication', requestAuthentication);
});

describe('Telemetry validation', () => {
  runCases('Telemetry', telemetry);
});

describe('API versions', () => {
  it('reads security.istio.io v1beta1 and telemetry.istio.io v1alpha1, and names file:line for other versions', () => {
    const text = [
      'apiVersion: security.istio.io/v1beta1\nkind: RequestAuthentication\nmetadata: {name: a, namespace: ns}\nspec: {jwtRules: [{issuer: iss}]}',
      'apiVersion: telemetry.istio.io/v1alpha1\nkind: Telemetry\nmetadata: {name: t, namespace: ns}\nspec: {tracing: [{randomSamplingPercentage: 5}]}',
      'apiVersion: security.istio.io/v1alpha1\nkind: RequestAuthentication\nmetadata: {name: b, namespace: ns}\nspec: {}',
      'apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: bad, namespace: ns}\nspec:\n  tracing:\n  - randomSamplingPercentage: 200',
    ].join('\n---\n');
    const { objects, problems } = parseConfigText(text, 'mesh.yaml');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['RequestAuthentication/a', 'Telemetry/t']);
    const lines = problems.filter((p) => p.severity === 'error').map(formatProblem);
    expect(lines.some((l) => l.includes('apiVersion security.istio.io/v1alpha1 is not served for RequestAuthentication'))).toBe(true);
    expect(lines).toContain('mesh.yaml:21: Telemetry ns/bad: spec.tracing[0].randomSamplingPercentage: must be at most 100 (got 200)');
  });
});
