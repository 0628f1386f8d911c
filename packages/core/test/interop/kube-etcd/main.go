// An etcd server for the Kubernetes interop tests: etcd's own server package embedded, one
// member on 127.0.0.1, data in the folder given. Prints "listening on <client url>" once it
// serves, and stops when stdin closes (the test harness owns its lifetime).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "data folder (required)")
	clientPort := flag.Int("client-port", 0, "client port on 127.0.0.1 (required)")
	peerPort := flag.Int("peer-port", 0, "peer port on 127.0.0.1 (required)")
	flag.Parse()
	if *dataDir == "" || *clientPort == 0 || *peerPort == 0 {
		log.Fatal("usage: kube-etcd --data-dir <dir> --client-port <n> --peer-port <n>")
	}

	cfg := embed.NewConfig()
	cfg.Dir = *dataDir
	cfg.Name = "meshlet-test"
	cfg.LogLevel = "error"
	// Tests throw the data away, so fsync only costs time.
	cfg.UnsafeNoFsync = true
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *clientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *peerPort)}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, peer.String())

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("start etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd did not become ready in 60 s")
	}
	fmt.Printf("listening on %s\n", client.String())

	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
		e.Close()
	case err := <-e.Err():
		log.Fatalf("etcd stopped: %v", err)
	}
}
