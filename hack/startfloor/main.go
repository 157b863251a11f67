// Command startfloor is the start-up floor that berth's design allows: a
// hello world that links the packages the design card requires berth to
// keep (the Docker Engine client, go-connections, cobra, moby/term and
// Masterminds/semver, which must stay in use). Go runs the initialisation
// of every linked package, so what these cost at start (the Docker
// client's distribution/reference and go-digest regular expressions,
// semver's) no berth can avoid. hack/bench-floor.sh prints berth
// --version beside it and beside a plain hello world.
package main

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/go-connections/nat"
	_ "github.com/moby/term"
	_ "github.com/spf13/cobra"
)

func main() { fmt.Println("hello", semver.MustParse("1.0.0")) }
