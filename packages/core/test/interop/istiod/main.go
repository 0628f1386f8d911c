// istiod's xDS server for Meshlet's interop test, without Kubernetes.
//
// `pilot-discovery discovery --registries= --configDir=...` is the obvious way, but at the
// istio.io/istio version the Go module proxy serves (see go.mod) it dereferences a nil
// multicluster controller when no Kubernetes registry is configured. So this program runs the
// same DiscoveryServer and generators (grpcgen for GENERATOR=grpc clients, the sidecar
// generator for nodes without GENERATOR) through istio's own harness,
// pilot/test/xds.NewFakeDiscoveryServer, with the Istio YAML from -config and the Kubernetes
// objects beside it (Service, Pod, EndpointSlice, ... as `kubectl get -o yaml` prints them,
// `kind: List` included) fed to its fake Kubernetes client, served over real gRPC on 127.0.0.1.
// -outbound-traffic-policy sets MeshConfig's. It prints "listening on <addr>" and runs until
// stdin closes.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config/mesh"
	kubelib "istio.io/istio/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// failer is the harness's test.Failer for a program: failures end the process.
type failer struct{ cleanups []func() }

func (f *failer) Fail()             { f.FailNow() }
func (f *failer) FailNow()          { f.run(); os.Exit(1) }
func (f *failer) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); f.FailNow() }
func (f *failer) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	f.FailNow()
}
func (f *failer) Log(args ...any)                 { fmt.Fprintln(os.Stderr, args...) }
func (f *failer) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (f *failer) TempDir() string {
	d, err := os.MkdirTemp("", "istiod-interop")
	if err != nil {
		panic(err)
	}
	return d
}
func (f *failer) Helper()           {}
func (f *failer) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failer) Skip(args ...any)  { f.Fatal(args...) }
func (f *failer) run() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// kubeAPIVersion: a document for the fake Kubernetes client (Service, Pod, EndpointSlice,
// Endpoints, Node, Namespace, List), not an Istio config.
var apiVersionLine = regexp.MustCompile(`(?m)^apiVersion:\s*["']?([^"'\s]+)`)

func isIstioConfig(doc string) bool {
	m := apiVersionLine.FindStringSubmatch(doc)
	return m == nil || strings.Contains(m[1], "istio.io") || strings.Contains(m[1], "gateway.networking.k8s.io")
}

// kubeObjects decodes Kubernetes documents as `kubectl get -o yaml` prints them, a List's items
// one by one.
func kubeObjects(docs []string) []runtime.Object {
	decode := kubelib.IstioCodec.UniversalDeserializer().Decode
	var out []runtime.Object
	for _, d := range docs {
		o, _, err := decode([]byte(d), nil, nil)
		if err != nil {
			panic(fmt.Sprintf("kubernetes object: %v\n%s", err, d))
		}
		list, ok := o.(*corev1.List)
		if !ok {
			out = append(out, o)
			continue
		}
		for _, item := range list.Items {
			io, _, err := decode(item.Raw, nil, nil)
			if err != nil {
				panic(fmt.Sprintf("kubernetes List item: %v", err))
			}
			out = append(out, io)
		}
	}
	return out
}

func main() {
	configDir := flag.String("config", "", "folder of Istio YAML and Kubernetes objects (*.yaml)")
	outbound := flag.String("outbound-traffic-policy", "ALLOW_ANY", "MeshConfig outboundTrafficPolicy.mode: ALLOW_ANY or REGISTRY_ONLY")
	flag.Parse()
	if *configDir == "" {
		fmt.Fprintln(os.Stderr, "usage: istiod-server -config <dir of Istio YAML and Kubernetes objects> [-outbound-traffic-policy REGISTRY_ONLY]")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(*configDir, "*.yaml"))
	if err != nil {
		panic(err)
	}
	sort.Strings(files)
	var istioDocs, kubeDocs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if isIstioConfig(doc) {
				istioDocs = append(istioDocs, doc)
			} else {
				kubeDocs = append(kubeDocs, doc)
			}
		}
	}
	configs, _, err := crd.ParseInputs(strings.Join(istioDocs, "\n---\n"))
	if err != nil {
		panic(err)
	}
	for i := range configs {
		// What istiod's config sources set and the harness's string parsing leaves empty: the
		// DNS suffix short host names resolve against ("reviews" → reviews.<ns>.svc.cluster.local).
		configs[i].Domain = "cluster.local"
		if configs[i].Namespace == "" {
			configs[i].Namespace = "default"
		}
	}
	meshConfig := mesh.DefaultMeshConfig()
	switch *outbound {
	case "ALLOW_ANY":
		meshConfig.OutboundTrafficPolicy = &meshconfig.MeshConfig_OutboundTrafficPolicy{Mode: meshconfig.MeshConfig_OutboundTrafficPolicy_ALLOW_ANY}
	case "REGISTRY_ONLY":
		meshConfig.OutboundTrafficPolicy = &meshconfig.MeshConfig_OutboundTrafficPolicy{Mode: meshconfig.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY}
	default:
		fmt.Fprintf(os.Stderr, "-outbound-traffic-policy %s: ALLOW_ANY or REGISTRY_ONLY\n", *outbound)
		os.Exit(2)
	}
	var addr net.Addr
	f := &failer{}
	xds.NewFakeDiscoveryServer(f, xds.FakeOptions{
		Configs:           configs,
		KubernetesObjects: kubeObjects(kubeDocs),
		MeshConfig:        meshConfig,
		ListenerBuilder: func() (net.Listener, error) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err == nil {
				addr = l.Addr()
			}
			return l, err
		},
	})
	fmt.Printf("listening on %s\n", addr)
	buf := make([]byte, 1)
	for {
		if _, err := os.Stdin.Read(buf); err != nil {
			break
		}
	}
	f.run()
}
