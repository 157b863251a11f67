// Command listfloor is the floor of `berth status` for container services:
// the Docker Engine client berth uses, set up from the environment with API
// version negotiation (as any client of an unknown daemon must), and one
// ContainerList of the containers carrying berth's environment label, each
// printed with its state. hack/bench-containers.sh times it beside berth
// status. It fails when it finds fewer containers than -want.
//
//	listfloor [-want N] ENVIRONMENT
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

func main() {
	want := flag.Int("want", 0, "fail when fewer containers are found")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: listfloor [-want N] ENVIRONMENT")
		os.Exit(2)
	}
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fmt.Fprintln(os.Stderr, "listfloor:", err)
		os.Exit(1)
	}
	defer c.Close()
	// The label berth puts on every container (runtime/container.LabelEnvironment).
	f := filters.NewArgs(filters.Arg("label", "dev.berth.environment="+flag.Arg(0)))
	list, err := c.ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
	if err != nil {
		fmt.Fprintln(os.Stderr, "listfloor:", err)
		os.Exit(1)
	}
	for _, s := range list {
		fmt.Println(s.Names, s.State, s.Status)
	}
	if len(list) < *want {
		fmt.Fprintf(os.Stderr, "listfloor: %d containers, want %d\n", len(list), *want)
		os.Exit(1)
	}
}
