// Package etcd is a single-member etcd for a throwaway test cluster, embedded from
// go.etcd.io/etcd/server/v3. Only the three settings the launcher needs are flags; fsync is
// off because the data is deleted when the cluster stops.
package etcd

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func mustURL(raw string) url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: bad URL %q: %v\n", raw, err)
		os.Exit(2)
	}
	return *u
}

// Main runs etcd with the command-line arguments (without the program name) until SIGTERM
// or SIGINT. Its own flag set: the Kubernetes packages linked beside it register flags of
// their own on the global one.
func Main(args []string) {
	flags := flag.NewFlagSet("etcd", flag.ExitOnError)
	dataDir := flags.String("data-dir", "", "directory for etcd's data (required)")
	clientURL := flags.String("listen-client-url", "http://127.0.0.1:2379", "client URL (loopback)")
	peerURL := flags.String("listen-peer-url", "http://127.0.0.1:2380", "peer URL (loopback)")
	_ = flags.Parse(args) // ExitOnError: a bad flag exits with the usage
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		os.Exit(2)
	}

	cfg := embed.NewConfig()
	cfg.Name = "realkube"
	cfg.Dir = *dataDir
	client, peer := mustURL(*clientURL), mustURL(*peerURL)
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "warn"

	server, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		os.Exit(1)
	}
	defer server.Close()
	select {
	case <-server.Server.ReadyNotify():
		fmt.Fprintf(os.Stderr, "etcd: ready on %s\n", client.String())
	case <-time.After(2 * time.Minute):
		server.Server.Stop()
		fmt.Fprintln(os.Stderr, "etcd: not ready after 2 minutes")
		os.Exit(1)
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stop:
	case err := <-server.Err():
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		os.Exit(1)
	}
}
