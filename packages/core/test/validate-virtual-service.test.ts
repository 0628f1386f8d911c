// VirtualService validation, case by case, from istiod's webhook rules.

import { describe } from 'vitest';
import { runCases, type Case } from './validate-case-helper.ts';

const route = `
  route:
  - destination:
      host: reviews`;

const cases: Case[] = [
  // ---- accepted ----
  { name: 'minimal route', valid: true, spec: `hosts: [reviews]\nhttp:\n- ${route.trim()}` },
  {
    name: 'weights need not add up to 100',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - route:
        - destination: {host: reviews, subset: v1}
          weight: 1
        - destination: {host: reviews, subset: v2}
          weight: 2`,
  },
  {
    name: 'a weight of 0 next to a positive one',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - route:
        - destination: {host: reviews, subset: v1}
          weight: 0
        - destination: {host: reviews, subset: v2}
          weight: 100`,
  },
  { name: 'wildcard host', valid: true, spec: `hosts: ["*.example.com"]\nhttp:\n- route:\n  - destination: {host: a.example.com}` },
  { name: 'FQDN host', valid: true, spec: `hosts: [reviews.default.svc.cluster.local]\nhttp:\n- ${route.trim()}` },
  { name: 'IP address host', valid: true, spec: `hosts: [10.0.0.1]\nhttp:\n- ${route.trim()}` },
  { name: '"*" is fine for a gateway-bound VirtualService', valid: true, spec: `hosts: ["*"]\ngateways: [istio-system/ingress]\nhttp:\n- ${route.trim()}` },
  {
    name: 'RE2 regex with a named group and a POSIX class',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - match:
        - uri: {regex: "^/api/(?P<version>v[[:digit:]]+)/.*$"}
        route:
        - destination: {host: reviews}`,
  },
  { name: 'Go duration syntax for timeout', valid: true, spec: `hosts: [reviews]\nhttp:\n- timeout: 1h2m3.5s\n  route:\n  - destination: {host: reviews}` },
  {
    name: 'retries with status codes and gRPC policies',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - retries:
          attempts: 3
          perTryTimeout: 2s
          retryOn: 5xx,gateway-error,reset,connect-failure,retriable-4xx,refused-stream,retriable-status-codes,503,cancelled,deadline-exceeded,internal,resource-exhausted,unavailable
        route:
        - destination: {host: reviews}`,
  },
  { name: 'attempts 0 alone disables retries', valid: true, spec: `hosts: [reviews]\nhttp:\n- retries: {attempts: 0}\n  route:\n  - destination: {host: reviews}` },
  {
    name: 'fault abort and delay',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - fault:
          abort: {httpStatus: 503, percentage: {value: 50}}
          delay: {fixedDelay: 5s, percentage: {value: 0.0001}}
        route:
        - destination: {host: reviews}`,
  },
  { name: 'gRPC status abort', valid: true, spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {grpcStatus: UNAVAILABLE}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'redirect', valid: true, spec: `hosts: [reviews]\nhttp:\n- redirect: {uri: /v2, authority: new.example.com, redirectCode: 301}` },
  { name: 'direct response', valid: true, spec: `hosts: [reviews]\nhttp:\n- directResponse: {status: 200, body: {string: ok}}` },
  { name: 'root route delegating', valid: true, spec: `hosts: [reviews]\nhttp:\n- delegate: {name: reviews-v2, namespace: team}` },
  { name: 'delegate VirtualService (no hosts)', valid: true, spec: `http:\n- ${route.trim()}` },
  {
    name: 'withoutHeaders regex "*" means present',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - match:
        - withoutHeaders: {x-debug: {regex: "*"}}
        route:
        - destination: {host: reviews}`,
  },
  { name: 'an empty uri prefix matches everything', valid: true, spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {prefix: ""}}]\n  route:\n  - destination: {host: reviews}` },
  {
    name: 'header operations with Envoy variables and escaped percent',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - headers:
          request:
            set: {x-host: "%HOSTNAME%", x-ratio: "100%%", x-meta: '%UPSTREAM_METADATA(["a", "b"])%'}
            remove: [x-internal]
          response:
            add: {x-served-by: meshlet}
        route:
        - destination: {host: reviews}`,
  },
  { name: 'exportTo namespaces', valid: true, spec: `hosts: [reviews]\nexportTo: [".", other]\nhttp:\n- ${route.trim()}` },
  {
    name: 'mirror with percentage, rewrite',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - mirror: {host: reviews-shadow}
        mirrorPercentage: {value: 12.5}
        rewrite: {uri: /v2}
        route:
        - destination: {host: reviews}`,
  },
  {
    name: 'uriRegexRewrite',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - rewrite: {uriRegexRewrite: {match: "^/service/([^/]+)(/.*)$", rewrite: '\\2/instance/\\1'}}
        route:
        - destination: {host: reviews}`,
  },
  {
    name: 'CORS policy',
    valid: true,
    spec: `
      hosts: [reviews]
      http:
      - corsPolicy:
          allowOrigins: [{exact: "https://example.com"}, {regex: "https://.*\\\\.example\\\\.com"}]
          allowMethods: [GET, POST]
          allowHeaders: [x-custom, "*"]
          maxAge: 24h
        route:
        - destination: {host: reviews}`,
  },
  { name: 'tcp route', valid: true, spec: `hosts: [db]\ntcp:\n- match: [{port: 5432}]\n  route:\n  - destination: {host: db, port: {number: 5432}}` },
  {
    name: 'tls route whose SNI host is one of the hosts',
    valid: true,
    spec: `
      hosts: ["*.example.com"]
      tls:
      - match: [{sniHosts: [api.example.com], port: 443}]
        route:
        - destination: {host: api.example.com}`,
  },
  { name: 'JWT claim routing on a gateway', valid: true, spec: `hosts: [reviews]\ngateways: [istio-system/gw]\nhttp:\n- match: [{headers: {"@request.auth.claims.group": {exact: admin}}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'legacy gateway name is a warning', warn: ['spec.gateways[0]', 'legacy'], spec: `hosts: [reviews]\ngateways: [gw.istio-system]\nhttp:\n- ${route.trim()}` },

  // ---- hosts and destinations ----
  { name: 'host "*" for the mesh', error: ['spec.hosts[0]', 'not allowed'], spec: `hosts: ["*"]\nhttp:\n- ${route.trim()}` },
  { name: 'duplicate hosts', error: ['spec.hosts[1]', 'overlap'], spec: `hosts: [a.example.com, a.example.com]\nhttp:\n- route:\n  - destination: {host: a.example.com}` },
  { name: 'wildcard covering another host', error: ['spec.hosts[1]', 'overlap'], spec: `hosts: ["*.com", foo.com]\nhttp:\n- route:\n  - destination: {host: foo.com}` },
  { name: 'wildcard not in first position', error: ['spec.hosts[0]', 'wildcard may only be the first'], spec: `hosts: ["foo*.example.com"]\nhttp:\n- ${route.trim()}` },
  { name: 'wildcard inside the name', error: ['spec.hosts[0]', 'not a DNS-1123 label'], spec: `hosts: ["foo.*.com"]\nhttp:\n- ${route.trim()}` },
  { name: 'underscore in host', error: ['spec.hosts[0]', 'not a DNS-1123 label'], spec: `hosts: [bad_host]\nhttp:\n- ${route.trim()}` },
  { name: 'all-numeric top-level label', error: ['spec.hosts[0]', 'all digits'], spec: `hosts: [foo.123]\nhttp:\n- ${route.trim()}` },
  { name: 'no routes at all', error: ['spec', 'at least one http, tcp or tls'], spec: `hosts: [reviews]` },
  { name: 'destination host "*"', error: ['spec.http[0].route[0].destination.host', 'cannot be "*"'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: "*"}` },
  { name: 'destination host with a bad label', error: ['spec.http[0].route[0].destination.host', 'not a DNS-1123 label'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: "-reviews"}` },
  { name: 'subset name with a dot', error: ['spec.http[0].route[0].destination.subset', 'not a DNS-1123 label'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews, subset: v1.0}` },
  { name: 'destination port 0', error: ['spec.http[0].route[0].destination.port.number', '1..65535'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews, port: {number: 0}}` },
  { name: 'destination port above 65535', error: ['spec.http[0].route[0].destination.port.number', '1..65535'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews, port: {number: 70000}}` },
  { name: 'destination without host', error: ['spec.http[0].route[0].destination.host', 'host is required'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {subset: v1}` },
  { name: 'route entry without destination', error: ['spec.http[0].route[0].destination', 'destination is required'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - weight: 100` },

  // ---- weights ----
  { name: 'negative weight', error: ['spec.http[0].route[0].weight', 'negative'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews}\n    weight: -1` },
  {
    name: 'several destinations all weighing 0',
    error: ['spec.http[0].route', 'add up to 0'],
    spec: `
      hosts: [reviews]
      http:
      - route:
        - destination: {host: reviews, subset: v1}
          weight: 0
        - destination: {host: reviews, subset: v2}`,
  },
  { name: 'weight written as a string', error: ['spec.http[0].route[0].weight', 'expected an integer'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews}\n    weight: "50"` },
  { name: 'fractional weight', error: ['spec.http[0].route[0].weight', 'expected an integer'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews}\n    weight: 50.5` },

  // ---- durations ----
  { name: 'timeout 0s', error: ['spec.http[0].timeout', 'at least 1ms'], spec: `hosts: [reviews]\nhttp:\n- timeout: 0s\n  route:\n  - destination: {host: reviews}` },
  { name: 'timeout below a millisecond', error: ['spec.http[0].timeout', 'at least 1ms'], spec: `hosts: [reviews]\nhttp:\n- timeout: 500us\n  route:\n  - destination: {host: reviews}` },
  { name: 'timeout with a fraction of a millisecond', error: ['spec.http[0].timeout', 'whole number of milliseconds'], spec: `hosts: [reviews]\nhttp:\n- timeout: 1.5ms\n  route:\n  - destination: {host: reviews}` },
  { name: 'timeout without unit', error: ['spec.http[0].timeout', 'missing unit'], spec: `hosts: [reviews]\nhttp:\n- timeout: "10"\n  route:\n  - destination: {host: reviews}` },
  { name: 'timeout with unknown unit', error: ['spec.http[0].timeout', 'unknown unit'], spec: `hosts: [reviews]\nhttp:\n- timeout: 3d\n  route:\n  - destination: {host: reviews}` },
  { name: 'negative timeout', error: ['spec.http[0].timeout', 'at least 1ms'], spec: `hosts: [reviews]\nhttp:\n- timeout: -1s\n  route:\n  - destination: {host: reviews}` },
  { name: 'timeout as a number', error: ['spec.http[0].timeout', 'expected a duration string'], spec: `hosts: [reviews]\nhttp:\n- timeout: 10\n  route:\n  - destination: {host: reviews}` },

  // ---- retries ----
  { name: 'negative attempts', error: ['spec.http[0].retries.attempts', 'negative'], spec: `hosts: [reviews]\nhttp:\n- retries: {attempts: -1}\n  route:\n  - destination: {host: reviews}` },
  { name: 'retry settings without attempts', error: ['spec.http[0].retries', 'attempts is 0'], spec: `hosts: [reviews]\nhttp:\n- retries: {perTryTimeout: 2s}\n  route:\n  - destination: {host: reviews}` },
  { name: 'unknown retryOn policy', error: ['spec.http[0].retries.retryOn', '"bogus" is not a valid retryOn'], spec: `hosts: [reviews]\nhttp:\n- retries: {attempts: 2, retryOn: "5xx,bogus"}\n  route:\n  - destination: {host: reviews}` },
  { name: 'spaces in retryOn', error: ['spec.http[0].retries.retryOn', 'remove the spaces'], spec: `hosts: [reviews]\nhttp:\n- retries: {attempts: 2, retryOn: "5xx, reset"}\n  route:\n  - destination: {host: reviews}` },
  { name: 'retryOn status code that does not exist', error: ['spec.http[0].retries.retryOn', '"599"'], spec: `hosts: [reviews]\nhttp:\n- retries: {attempts: 2, retryOn: "599"}\n  route:\n  - destination: {host: reviews}` },
  { name: 'perTryTimeout 0s', error: ['spec.http[0].retries.perTryTimeout', 'at least 1ms'], spec: `hosts: [reviews]\nhttp:\n- retries: {attempts: 2, perTryTimeout: 0s}\n  route:\n  - destination: {host: reviews}` },

  // ---- faults ----
  { name: 'abort status above 599', error: ['spec.http[0].fault.abort.httpStatus', '200..599'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {httpStatus: 700}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'abort status below 200', error: ['spec.http[0].fault.abort.httpStatus', '200..599'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {httpStatus: 199}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'abort percentage above 100', error: ['spec.http[0].fault.abort.percentage.value', 'percentage 101'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {httpStatus: 503, percentage: {value: 101}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'negative delay percentage', error: ['spec.http[0].fault.delay.percentage.value', 'percentage -1'], spec: `hosts: [reviews]\nhttp:\n- fault: {delay: {fixedDelay: 1s, percentage: {value: -1}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'delay percentage below the smallest step', error: ['spec.http[0].fault.delay.percentage.value', '0.0001'], spec: `hosts: [reviews]\nhttp:\n- fault: {delay: {fixedDelay: 1s, percentage: {value: 0.00001}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'empty fault', error: ['spec.http[0].fault', 'abort, a delay'], spec: `hosts: [reviews]\nhttp:\n- fault: {}\n  route:\n  - destination: {host: reviews}` },
  { name: 'unknown gRPC status', error: ['spec.http[0].fault.abort.grpcStatus', 'NOPE'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {grpcStatus: NOPE}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'HTTP/2 error abort', error: ['spec.http[0].fault.abort.http2Error', 'not supported'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {http2Error: PROTOCOL_ERROR}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'exponential delay', error: ['spec.http[0].fault.delay.exponentialDelay', 'not supported'], spec: `hosts: [reviews]\nhttp:\n- fault: {delay: {exponentialDelay: 1s}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'abort with both httpStatus and grpcStatus', error: ['spec.http[0].fault.abort.grpcStatus', 'only one of'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {httpStatus: 503, grpcStatus: INTERNAL}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'abort without an error type', warn: ['spec.http[0].fault.abort', 'does nothing'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {percentage: {value: 5}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'fixedDelay 0s', error: ['spec.http[0].fault.delay.fixedDelay', 'at least 1ms'], spec: `hosts: [reviews]\nhttp:\n- fault: {delay: {fixedDelay: 0s}}\n  route:\n  - destination: {host: reviews}` },

  // ---- action combinations ----
  { name: 'fault with redirect', error: ['spec.http[0].fault', 'both fault and redirect'], spec: `hosts: [reviews]\nhttp:\n- fault: {abort: {httpStatus: 500}}\n  redirect: {uri: /x}` },
  { name: 'route with redirect', error: ['spec.http[0].route', 'both route and redirect'], spec: `hosts: [reviews]\nhttp:\n- redirect: {uri: /x}\n  route:\n  - destination: {host: reviews}` },
  { name: 'route with directResponse', error: ['spec.http[0].route', 'both route and directResponse'], spec: `hosts: [reviews]\nhttp:\n- directResponse: {status: 204}\n  route:\n  - destination: {host: reviews}` },
  { name: 'rewrite with redirect', error: ['spec.http[0].rewrite', 'both rewrite and redirect'], spec: `hosts: [reviews]\nhttp:\n- redirect: {uri: /x}\n  rewrite: {uri: /y}` },
  { name: 'directResponse with redirect', error: ['spec.http[0].directResponse', 'both directResponse and redirect'], spec: `hosts: [reviews]\nhttp:\n- redirect: {uri: /x}\n  directResponse: {status: 204}` },
  { name: 'rewrite with directResponse', error: ['spec.http[0].rewrite', 'both rewrite and directResponse'], spec: `hosts: [reviews]\nhttp:\n- directResponse: {status: 204}\n  rewrite: {uri: /y}` },
  { name: 'a rule that does nothing', error: ['spec.http[0]', 'needs one of route, redirect or directResponse'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {prefix: /a}}]` },
  { name: 'mirror and mirrors', error: ['spec.http[0].mirrors', 'both mirror and mirrors'], spec: `hosts: [reviews]\nhttp:\n- mirror: {host: a}\n  mirrors: [{destination: {host: b}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'delegating route that also routes', error: ['spec.http[0].route', 'delegates'], spec: `hosts: [reviews]\nhttp:\n- delegate: {name: other}\n  route:\n  - destination: {host: reviews}` },
  { name: 'delegating route that also redirects', error: ['spec.http[0].redirect', 'delegates'], spec: `hosts: [reviews]\nhttp:\n- delegate: {name: other}\n  redirect: {uri: /x}` },
  { name: 'delegate VirtualService with gateways', error: ['spec.gateways', 'delegate VirtualService'], spec: `gateways: [istio-system/gw]\nhttp:\n- ${route.trim()}` },
  { name: 'delegate VirtualService with tcp routes', error: ['spec.tcp', 'delegate VirtualService'], spec: `tcp:\n- route:\n  - destination: {host: db}` },
  { name: 'delegate VirtualService delegating again', error: ['spec.http[0].delegate', 'cannot delegate again'], spec: `http:\n- delegate: {name: other}` },

  // ---- redirect, direct response, rewrite ----
  { name: 'redirect code 200', error: ['spec.http[0].redirect.redirectCode', 'not a 3xx'], spec: `hosts: [reviews]\nhttp:\n- redirect: {uri: /x, redirectCode: 200}` },
  { name: 'redirect scheme ftp', error: ['spec.http[0].redirect.scheme', '"http" or "https"'], spec: `hosts: [reviews]\nhttp:\n- redirect: {scheme: ftp}` },
  { name: 'empty redirect', error: ['spec.http[0].redirect', 'at least one of'], spec: `hosts: [reviews]\nhttp:\n- redirect: {}` },
  { name: 'redirect uri and prefixRewrite', error: ['spec.http[0].redirect.prefixRewrite', 'not both'], spec: `hosts: [reviews]\nhttp:\n- redirect: {uri: /a, prefixRewrite: /b}` },
  { name: 'prefixRewrite needs prefix uri matches', error: ['spec.http[0].match[0].uri', 'prefix match'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {exact: /a}}]\n  redirect: {prefixRewrite: /b}` },
  { name: 'redirect port and derivePort', error: ['spec.http[0].redirect.derivePort', 'only one of'], spec: `hosts: [reviews]\nhttp:\n- redirect: {port: 8080, derivePort: FROM_REQUEST_PORT}` },
  { name: 'redirect port out of range', error: ['spec.http[0].redirect.port', '1..65535'], spec: `hosts: [reviews]\nhttp:\n- redirect: {port: 70000}` },
  { name: 'directResponse status 1000', error: ['spec.http[0].directResponse.status', '200..599'], spec: `hosts: [reviews]\nhttp:\n- directResponse: {status: 1000}` },
  { name: 'directResponse without status', error: ['spec.http[0].directResponse.status', 'status is required'], spec: `hosts: [reviews]\nhttp:\n- directResponse: {body: {string: hi}}` },
  { name: 'directResponse body not base64', error: ['spec.http[0].directResponse.body.bytes', 'base64'], spec: `hosts: [reviews]\nhttp:\n- directResponse: {status: 200, body: {bytes: "not base64!"}}` },
  { name: 'empty rewrite', error: ['spec.http[0].rewrite', 'needs uri'], spec: `hosts: [reviews]\nhttp:\n- rewrite: {}\n  route:\n  - destination: {host: reviews}` },
  { name: 'rewrite uri and uriRegexRewrite', error: ['spec.http[0].rewrite.uriRegexRewrite', 'not both'], spec: `hosts: [reviews]\nhttp:\n- rewrite: {uri: /a, uriRegexRewrite: {match: a, rewrite: b}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'uriRegexRewrite without rewrite', error: ['spec.http[0].rewrite.uriRegexRewrite', 'both match and rewrite'], spec: `hosts: [reviews]\nhttp:\n- rewrite: {uriRegexRewrite: {match: a}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'uriRegexRewrite with a bad regex', error: ['spec.http[0].rewrite.uriRegexRewrite.match', 'missing closing )'], spec: `hosts: [reviews]\nhttp:\n- rewrite: {uriRegexRewrite: {match: "(", rewrite: x}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'authority rewritten twice', error: ['spec.http[0].headers.request.set.host', 'already rewritten'], spec: `hosts: [reviews]\nhttp:\n- rewrite: {authority: a.example.com}\n  headers: {request: {set: {host: b.example.com}}}\n  route:\n  - destination: {host: reviews}` },

  // ---- matches ----
  { name: 'regex with an unclosed group', error: ['spec.http[0].match[0].uri.regex', 'missing closing )'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {regex: "/(a"}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'regex lookahead (not RE2)', error: ['spec.http[0].match[0].uri.regex', 'Perl syntax'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {regex: "/(?=a)"}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'regex backreference (not RE2)', error: ['spec.http[0].match[0].uri.regex', 'invalid escape'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {regex: "(a)\\\\1"}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'regex longer than 1024', error: ['spec.http[0].match[0].uri.regex', 'longer than 1024'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {regex: "${'a'.repeat(1025)}"}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'empty regex', error: ['spec.http[0].match[0].uri.regex', 'must not be empty'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {regex: ""}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'regex "*" in a header match', error: ['spec.http[0].match[0].headers.x-a.regex', 'missing argument to repetition'], spec: `hosts: [reviews]\nhttp:\n- match: [{headers: {x-a: {regex: "*"}}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'empty header prefix', error: ['spec.http[0].match[0].headers.x-a.prefix', 'must not be empty'], spec: `hosts: [reviews]\nhttp:\n- match: [{headers: {x-a: {prefix: ""}}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'empty method prefix', error: ['spec.http[0].match[0].method.prefix', 'must not be empty'], spec: `hosts: [reviews]\nhttp:\n- match: [{method: {prefix: ""}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'bad regex in a query parameter', error: ['spec.http[0].match[0].queryParams.q.regex', 'missing closing ]'], spec: `hosts: [reviews]\nhttp:\n- match: [{queryParams: {q: {regex: "[a"}}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'header name with a space', error: ['spec.http[0].match[0].headers.bad header', 'not a valid header name'], spec: `hosts: [reviews]\nhttp:\n- match: [{headers: {"bad header": {exact: a}}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'exact and prefix together', error: ['spec.http[0].match[0].uri.prefix', 'only one of exact, prefix, regex'], spec: `hosts: [reviews]\nhttp:\n- match: [{uri: {exact: /a, prefix: /a}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'match port out of range', error: ['spec.http[0].match[0].port', '1..65535'], spec: `hosts: [reviews]\nhttp:\n- match: [{port: 70000}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'bad sourceLabels key', error: ['spec.http[0].match[0].sourceLabels.-app', 'label key'], spec: `hosts: [reviews]\nhttp:\n- match: [{sourceLabels: {"-app": x}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'bad sourceNamespace', error: ['spec.http[0].match[0].sourceNamespace', 'not a valid namespace'], spec: `hosts: [reviews]\nhttp:\n- match: [{sourceNamespace: Bad_NS}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'bad gateway in a match', error: ['spec.http[0].match[0].gateways[0]', 'gateway name'], spec: `hosts: [reviews]\nhttp:\n- match: [{gateways: ["ns/Bad_Gw"]}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'JWT claim routing for the mesh', error: ['spec.http[0].match[0].headers.@request.auth.claims.sub', 'JWT claims'], spec: `hosts: [reviews]\nhttp:\n- match: [{headers: {"@request.auth.claims.sub": {exact: me}}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'null header match', error: ['spec.http[0].match[0].headers.x-a', 'expected an object, got null'], spec: `hosts: [reviews]\nhttp:\n- match: [{headers: {x-a: }}]\n  route:\n  - destination: {host: reviews}` },

  // ---- headers, CORS, mirrors ----
  { name: 'setting a pseudo-header', error: ['spec.http[0].headers.request.set.:path', 'reserved'], spec: `hosts: [reviews]\nhttp:\n- headers: {request: {set: {":path": /x}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'setting Host on the response', error: ['spec.http[0].headers.response.set.host', 'Host header'], spec: `hosts: [reviews]\nhttp:\n- headers: {response: {set: {host: x}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'removing Host from the request', error: ['spec.http[0].headers.request.remove[0]', 'Host header'], spec: `hosts: [reviews]\nhttp:\n- headers: {request: {remove: [Host]}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'unterminated header variable', error: ['spec.http[0].headers.request.set.x-a', 'unterminated'], spec: `hosts: [reviews]\nhttp:\n- headers: {request: {set: {x-a: "abc%123"}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'trailing percent in a header value', error: ['spec.http[0].headers.request.add.x-a', 'unescaped'], spec: `hosts: [reviews]\nhttp:\n- headers: {request: {add: {x-a: "100%"}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'control character in a header value', error: ['spec.http[0].headers.response.add.x-a', 'control characters'], spec: `hosts: [reviews]\nhttp:\n- headers: {response: {add: {x-a: "a\\nb"}}}\n  route:\n  - destination: {host: reviews}` },
  { name: 'per-destination header operation', error: ['spec.http[0].route[0].headers.request.set.:method', 'reserved'], spec: `hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews}\n    headers: {request: {set: {":method": GET}}}` },
  { name: 'CORS method', error: ['spec.http[0].corsPolicy.allowMethods[0]', 'not a supported HTTP method'], spec: `hosts: [reviews]\nhttp:\n- corsPolicy: {allowMethods: [FETCH]}\n  route:\n  - destination: {host: reviews}` },
  { name: 'CORS header name', error: ['spec.http[0].corsPolicy.allowHeaders[0]', 'not a valid header name'], spec: `hosts: [reviews]\nhttp:\n- corsPolicy: {allowHeaders: ["x y"]}\n  route:\n  - destination: {host: reviews}` },
  { name: 'CORS maxAge with milliseconds', error: ['spec.http[0].corsPolicy.maxAge', 'whole number of seconds'], spec: `hosts: [reviews]\nhttp:\n- corsPolicy: {maxAge: 1500ms}\n  route:\n  - destination: {host: reviews}` },
  { name: 'CORS empty origin', error: ['spec.http[0].corsPolicy.allowOrigins[0]', 'non-empty'], spec: `hosts: [reviews]\nhttp:\n- corsPolicy: {allowOrigins: [{exact: ""}]}\n  route:\n  - destination: {host: reviews}` },
  { name: 'mirror percentage above 100', error: ['spec.http[0].mirrorPercentage.value', '0..100'], spec: `hosts: [reviews]\nhttp:\n- mirror: {host: shadow}\n  mirrorPercentage: {value: 101}\n  route:\n  - destination: {host: reviews}` },
  { name: 'negative mirrors percentage', error: ['spec.http[0].mirrors[0].percentage.value', '0..100'], spec: `hosts: [reviews]\nhttp:\n- mirrors: [{destination: {host: shadow}, percentage: {value: -5}}]\n  route:\n  - destination: {host: reviews}` },
  { name: 'mirror to "*"', error: ['spec.http[0].mirror.host', 'cannot be "*"'], spec: `hosts: [reviews]\nhttp:\n- mirror: {host: "*"}\n  route:\n  - destination: {host: reviews}` },
  { name: 'deprecated mirrorPercent above 100', error: ['spec.http[0].mirrorPercent', 'above 100'], spec: `hosts: [reviews]\nhttp:\n- mirror: {host: shadow}\n  mirrorPercent: 150\n  route:\n  - destination: {host: reviews}` },
  { name: 'deprecated mirrorPercent', warn: ['spec.http[0].mirrorPercent', 'deprecated'], spec: `hosts: [reviews]\nhttp:\n- mirror: {host: shadow}\n  mirrorPercent: 50\n  route:\n  - destination: {host: reviews}` },

  // ---- exportTo, gateways, tcp/tls ----
  { name: '"." and the own namespace', error: ['spec.exportTo[1]', 'own namespace'], spec: `hosts: [reviews]\nexportTo: [".", ns1]\nhttp:\n- ${route.trim()}` },
  { name: 'exportTo "*" with others', error: ['spec.exportTo', 'cannot be combined'], spec: `hosts: [reviews]\nexportTo: ["*", other]\nhttp:\n- ${route.trim()}` },
  { name: 'exportTo "~" on a VirtualService', error: ['spec.exportTo[0]', 'only allowed on ServiceEntry'], spec: `hosts: [reviews]\nexportTo: ["~"]\nhttp:\n- ${route.trim()}` },
  { name: 'exportTo bad namespace', error: ['spec.exportTo[0]', 'namespace name'], spec: `hosts: [reviews]\nexportTo: [Bad_NS]\nhttp:\n- ${route.trim()}` },
  { name: 'duplicate exportTo', error: ['spec.exportTo[1]', 'duplicate'], spec: `hosts: [reviews]\nexportTo: [a, a]\nhttp:\n- ${route.trim()}` },
  { name: 'gateway reference with an empty name', error: ['spec.gateways[0]', 'must not be empty'], spec: `hosts: [reviews]\ngateways: ["istio-system/"]\nhttp:\n- ${route.trim()}` },
  { name: 'SNI host outside the hosts', error: ['spec.tls[0].match[0].sniHosts[0]', 'not covered'], spec: `hosts: [a.example.com]\ntls:\n- match: [{sniHosts: [b.example.com]}]\n  route:\n  - destination: {host: b.example.com}` },
  { name: 'tls match without SNI hosts', error: ['spec.tls[0].match[0].sniHosts', 'sniHosts is required'], spec: `hosts: [a.example.com]\ntls:\n- match: [{port: 443}]\n  route:\n  - destination: {host: a.example.com}` },
  { name: 'tcp route without destinations', error: ['spec.tcp[0].route', 'at least one destination'], spec: `hosts: [db]\ntcp:\n- match: [{port: 5432}]` },
  { name: 'tcp match with a bad subnet', error: ['spec.tcp[0].match[0].destinationSubnets[0]', 'CIDR'], spec: `hosts: [db]\ntcp:\n- match: [{destinationSubnets: ["10.0.0.0/40"]}]\n  route:\n  - destination: {host: db}` },

  // ---- structure ----
  { name: 'misspelled field is an error naming the field meant', error: ['spec.http[0].retires', 'unknown field "retires"; did you mean "retries"?'], spec: `hosts: [reviews]\nhttp:\n- retires: {attempts: 3}\n  route:\n  - destination: {host: reviews}` },
  { name: 'hosts as a string', error: ['spec.hosts', 'expected a list'], spec: `hosts: reviews\nhttp:\n- ${route.trim()}` },
  { name: 'http rule that is not an object', error: ['spec.http[0]', 'expected an object'], spec: `hosts: [reviews]\nhttp:\n- just-a-string` },
  // (Unreachable rules and matches are analyzer findings: analyze-virtual-service.test.ts.)
];

describe('VirtualService validation', () => {
  runCases('VirtualService', cases);
});
