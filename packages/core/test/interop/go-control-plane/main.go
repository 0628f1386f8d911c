// A small xDS server on go-control-plane's snapshot cache, for Meshlet's interop test: one
// listener (reviews.default.svc.cluster.local:9080) whose route sends end-user: jason to v2
// and splits everyone else between v1 and v3, three EDS clusters on 127.0.0.1 ports given on
// the command line. It serves ADS (state-of-the-world and delta) on 127.0.0.1, prints
// "listening on 127.0.0.1:<port>", and on each stdin line "split <w1> <w3>" sets a new
// snapshot version with those weights (a push).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	listenerName = "reviews.default.svc.cluster.local:9080"
	routeName    = "outbound|9080||reviews.default.svc.cluster.local"
)

func clusterName(subset string) string {
	return "outbound|9080|" + subset + "|reviews.default.svc.cluster.local"
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

var ads = &corev3.ConfigSource{
	ResourceApiVersion:    corev3.ApiVersion_V3,
	ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
}

func prefix(p string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
}

func snapshot(version int, ports map[string]uint32, w1, w3 uint32) *cache.Snapshot {
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix:     "outbound",
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: routeName, ConfigSource: ads}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		}},
	}
	listener := &listenerv3.Listener{Name: listenerName, ApiListener: &listenerv3.ApiListener{ApiListener: mustAny(hcm)}}

	jason := prefix("/")
	jason.Headers = []*routev3.HeaderMatcher{{
		Name: "end-user",
		HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "jason"},
		}},
	}}
	var weighted []*routev3.WeightedCluster_ClusterWeight
	if w1 > 0 {
		weighted = append(weighted, &routev3.WeightedCluster_ClusterWeight{Name: clusterName("v1"), Weight: wrapperspb.UInt32(w1)})
	}
	if w3 > 0 {
		weighted = append(weighted, &routev3.WeightedCluster_ClusterWeight{Name: clusterName("v3"), Weight: wrapperspb.UInt32(w3)})
	}
	route := &routev3.RouteConfiguration{
		Name: routeName,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    listenerName,
			Domains: []string{"reviews.default.svc.cluster.local", listenerName, "*"},
			Routes: []*routev3.Route{
				{Name: "jason", Match: jason, Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: clusterName("v2")},
				}}},
				{Name: "split", Match: prefix("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: weighted}},
				}}},
			},
		}},
	}

	var clusters, assignments []types.Resource
	for _, subset := range []string{"v1", "v2", "v3"} {
		name := clusterName(subset)
		clusters = append(clusters, &clusterv3.Cluster{
			Name:                 name,
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: ads, ServiceName: name},
			ConnectTimeout:       durationpb.New(time.Second),
			LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		})
		assignments = append(assignments, &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
							Address:       "127.0.0.1",
							PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: ports[subset]},
						}}},
					}},
				}},
			}},
		})
	}
	snap, err := cache.NewSnapshot(strconv.Itoa(version), map[resource.Type][]types.Resource{
		resource.ListenerType: {listener},
		resource.RouteType:    {route},
		resource.ClusterType:  clusters,
		resource.EndpointType: assignments,
	})
	if err != nil {
		panic(err)
	}
	// No snap.Consistent(): it finds route references only in filter chains, not in the
	// api_listener a proxyless client gets, so it would call this snapshot inconsistent.
	return snap
}

func main() {
	node := flag.String("node", "", "node id of the client the snapshot is for")
	portList := flag.String("ports", "", "v1,v2,v3 backend ports")
	flag.Parse()
	parts := strings.Split(*portList, ",")
	if *node == "" || len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gcp-server -node <id> -ports <v1>,<v2>,<v3>")
		os.Exit(2)
	}
	ports := map[string]uint32{}
	for i, subset := range []string{"v1", "v2", "v3"} {
		p, err := strconv.Atoi(parts[i])
		if err != nil {
			panic(err)
		}
		ports[subset] = uint32(p)
	}

	ctx := context.Background()
	// ads=false: in ADS mode the cache holds back a response until a client asks for every
	// resource of the type in the snapshot, which a client subscribing by name (v3 is not
	// routed to until the push) never does.
	snapshots := cache.NewSnapshotCache(false, cache.IDHash{}, nil)
	version := 1
	if err := snapshots.SetSnapshot(ctx, *node, snapshot(version, ports, 100, 0)); err != nil {
		panic(err)
	}
	srv := server.NewServer(ctx, snapshots, nil)
	grpcServer := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(grpcServer, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening on %s\n", lis.Addr().String())
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			var w1, w3 uint32
			if _, err := fmt.Sscanf(in.Text(), "split %d %d", &w1, &w3); err != nil {
				fmt.Fprintln(os.Stderr, "bad command:", in.Text())
				continue
			}
			version++
			if err := snapshots.SetSnapshot(ctx, *node, snapshot(version, ports, w1, w3)); err != nil {
				fmt.Fprintln(os.Stderr, "snapshot:", err)
				continue
			}
			fmt.Printf("version %d\n", version)
		}
		// stdin closed: the test is done with us.
		os.Exit(0)
	}()
	if err := grpcServer.Serve(lis); err != nil {
		panic(err)
	}
}
