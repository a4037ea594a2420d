// realkube is kube-apiserver, kube-controller-manager and etcd in one executable, chosen by
// the name it is run under (busybox-style: `make realkube` links the three names to it), as
// Kubernetes' own hyperkube once was. One binary is linked once: on two cores the links of
// three ~150 MB binaries were minutes of a first build.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // for CronJob time zone support, as upstream's mains

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // the prometheus client-go plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"

	"batch-image-operator/realkube/internal/etcd"
)

func main() {
	switch name := filepath.Base(os.Args[0]); name {
	case "kube-apiserver":
		// Exactly as k8s.io/kubernetes/cmd/kube-apiserver builds it.
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		// Exactly as k8s.io/kubernetes/cmd/kube-controller-manager builds it.
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "etcd":
		etcd.Main(os.Args[1:])
	default:
		fmt.Fprintf(os.Stderr, "realkube: run as kube-apiserver, kube-controller-manager or "+
			"etcd (a link of that name), not %q\n", name)
		os.Exit(2)
	}
}
