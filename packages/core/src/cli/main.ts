#!/usr/bin/env node
// The meshlet command line. Run from the repository root as `pnpm meshlet <command> ...`.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { validateCommand } from './validate.ts';
import { xdsCommand } from './xds.ts';
import { certsCommand } from './certs.ts';
import { explainDumpCommand } from './explain-dump.ts';
import { MeshError } from '../errors.ts';

const HELP = `meshlet: a service mesh inside your Node.js process

Usage:
  meshlet validate [--strict] [-o text|json] <paths..>
      istioctl validate + istioctl analyze, offline. Checks each object of the Istio YAML
      files or folders (and the Kubernetes Services, EndpointSlices, Endpoints, Pods, Nodes
      and Namespaces beside them, as kubectl get -o yaml prints them) as the API server and
      istiod's webhook do (unknown fields are errors, as kubectl's strict field validation
      makes them), then runs the cross-object analyzers:
      missing hosts, ports, subsets and delegates (IST0101), VirtualServices conflicting on a
      host (IST0109), unreachable rules and matches (IST0130, IST0131), subsets that select no
      endpoint (IST0173), DestinationRules for unknown hosts (IST0174), ServiceEntries with
      conflicting protocols (IST0177), VirtualService hosts with no service (MSH0001),
      conflicting DestinationRules (MSH0002), TLS modes a PeerAuthentication refuses (MSH0003),
      several namespace-wide Telemetries (IST0160), several namespace-wide Sidecars (IST0111).
      A MeshConfig (the istio ConfigMap, or a bare document in mesh.yaml) is checked too.
      Prints one line per problem as file:line: Kind ns/name: field: message [CODE] and a
      summary; exits 1 if any problem is an error (with --strict, also a warning).
      -o json prints a JSON list instead: code, level, file, line, kind, namespace, name,
      field, message.

  meshlet explain --config <dir> [-H 'name: value']... [--namespace <ns>] [--label k=v]...
                  [--mesh-config <file>] [--skip-invalid-objects] <METHOD> <URL>
      Print, as JSON, what the mesh would do with this request: the service, the matched
      route (VirtualService and rule), the weighted clusters (named as istiod names them),
      timeout, retry policy, fault, rewrites and header changes — or that the host is outside
      the mesh (passthrough, or blocked under REGISTRY_ONLY) and which Sidecar hid it.
      Nothing is sent.

  meshlet dump --config <dir> [--namespace <ns>] [--label k=v]... [--mesh-config <file>] [--skip-invalid-objects]
      Print the compiled xDS resources (listeners, route configurations, clusters, endpoints)
      with the config version, the MeshConfig and Sidecar in force and any problems, as JSON.

  meshlet explain --kubernetes [--kubeconfig <file>] [--context <ctx>] [--namespace <ns>]
                  [--label k=v]... [--watch-namespace <ns>]... [-H 'name: value']... <METHOD> <URL>
  meshlet dump --kubernetes [--kubeconfig <file>] [--context <ctx>] [--namespace <ns>]
               [--label k=v]... [--watch-namespace <ns>]...
      The same, from a live cluster's config: Istio's CRDs, Services, EndpointSlices, Pods,
      Nodes, Namespaces and the istio ConfigMap's MeshConfig read from the Kubernetes API as
      createMesh({ kubernetes }) reads them (the pod's service account, or the kubeconfig's current or given context). The
      dump adds every watch's state and the kinds the cluster does not serve.

  meshlet certs --out <dir> [--namespace <ns>] [--service-account <sa>] [--ca <dir>]
                [--trust-domain <td>] [--hours <n>] [--dns <name>]...
      Write a development workload identity in istio-agent's layout (cert-chain.pem,
      key.pem, root-cert.pem) with the SPIFFE ID spiffe://<td>/ns/<ns>/sa/<sa>, signed by a
      dev root CA kept in --ca (default <out>/../ca; created on first use). Use the folder
      with createMesh({ certs }) and the server helpers.

  meshlet xds --config <dir> [--listen 127.0.0.1:<port>] [--outbound-traffic-policy <mode>] [--no-watch] [--skip-invalid-objects] [-v]
      Serve the compiled CRDs over ADS (state-of-the-world and delta) to any number of xDS
      clients — Meshlet, @grpc/grpc-js-xds, anything that speaks ADS — compiled per client
      from its node metadata (NAMESPACE, LABELS, locality), and push on every file change. A
      node with GENERATOR grpc gets istiod's proxyless form; one without GENERATOR gets the
      Envoy sidecar's form, as istiod decides. Prints the address it listens on (default
      127.0.0.1:15010; port 0 picks one), logs to stderr, runs until interrupted. For
      development and tests; production uses istiod.

  meshlet dump --bootstrap <file> [--listener <fqdn>:<port>]...
      Connect to the xDS server a GRPC_XDS_BOOTSTRAP file names, fetch the given listeners
      (default: every listener), and print the config dump with each resource's xDS status.

Options:
  --config <path>      Istio CRD YAML folder or file, Kubernetes objects included (repeatable).
                       explain, dump and xds refuse
                       to start when an object has errors (every error listed), as createMesh does
  --skip-invalid-objects
                       start anyway, leaving the invalid objects out (createMesh's skipInvalidObjects)
  --strict             validate: warnings fail too
  -o, --output <fmt>   validate: text (default) or json
  --bootstrap <file>   a GRPC_XDS_BOOTSTRAP-format file (dump)
  --listener <name>    a listener to fetch with --bootstrap, e.g. reviews.default.svc.cluster.local:9080
  --kubernetes         read config from the Kubernetes API (explain, dump)
  --kubeconfig <file>  a kubeconfig for --kubernetes (default: in-cluster service account;
                       with --context alone, KUBECONFIG or ~/.kube/config)
  --context <ctx>      a kubeconfig context for --kubernetes
  --watch-namespace <ns>  watch only this namespace (repeatable; default: all)
  --listen <host:port> where meshlet xds listens
  --outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY
                       where sidecar-form clients send hosts outside the mesh (default ALLOW_ANY;
                       a MeshConfig in the folder, or the client's Sidecar, decides instead)
  --namespace <ns>     the client's namespace (default: default)
  --label k=v          a label of the client (repeatable): selects its Sidecar, sourceLabels, ...
  --mesh-config <file> a MeshConfig file, in force over one in the folder (createMesh's meshConfig)
  -H, --header 'k: v'  a request header for explain (repeatable)
  -h, --help           this text
  --version            print meshlet's version (that of @meshlet/core)
`;

/** @meshlet/core's version: package.json is two folders up from both src/cli and dist/cli. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${HELP}\nmeshlet ${version()}\n`);
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const out = { log: (s: string) => process.stdout.write(`${s}\n`), error: (s: string) => process.stderr.write(`${s}\n`) };
  switch (command) {
    case 'validate': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { help: { type: 'boolean', short: 'h' }, strict: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
      });
      if (values.help) { process.stdout.write(HELP); return 0; }
      if (positionals.length === 0) { out.error('meshlet validate: give at least one file or folder'); return 2; }
      const output = values.output ?? 'text';
      if (output !== 'text' && output !== 'json') { out.error(`meshlet validate: -o ${output}: use text or json`); return 2; }
      return validateCommand(positionals, out, { strict: values.strict === true, output });
    }
    case 'xds':
      return xdsCommand(rest, out, HELP);
    case 'explain':
    case 'dump':
      return explainDumpCommand(command, rest, out, HELP);
    case 'certs':
      if (rest.includes('-h') || rest.includes('--help')) { process.stdout.write(HELP); return 0; }
      return certsCommand(rest, out);
    default:
      out.error(`meshlet: unknown command ${JSON.stringify(command)}\n`);
      process.stderr.write(HELP);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`meshlet: ${err instanceof MeshError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
