// istiod's xDS server for Meshlet's interop test, without Kubernetes.
//
// `pilot-discovery discovery --registries= --configDir=...` is the obvious way, but at the
// istio.io/istio version the Go module proxy serves (see go.mod) it dereferences a nil
// multicluster controller when no Kubernetes registry is configured. So this program runs the
// same DiscoveryServer and generators (grpcgen for GENERATOR=grpc clients) through istio's own
// harness, pilot/test/xds.NewFakeDiscoveryServer, with a fake Kubernetes client and the Istio
// YAML from -config, served over real gRPC on 127.0.0.1. It prints "listening on <addr>" and
// runs until stdin closes.
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/test/xds"
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

func main() {
	if len(os.Args) != 3 || os.Args[1] != "-config" {
		fmt.Fprintln(os.Stderr, "usage: istiod-server -config <dir of Istio YAML>")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[2], "*.yaml"))
	if err != nil {
		panic(err)
	}
	sort.Strings(files)
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		docs = append(docs, string(b))
	}
	configs, _, err := crd.ParseInputs(strings.Join(docs, "\n---\n"))
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
	var addr net.Addr
	f := &failer{}
	xds.NewFakeDiscoveryServer(f, xds.FakeOptions{
		Configs: configs,
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
