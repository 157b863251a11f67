// Command startfloor is the start-up floor that berth's design allows: a
// hello world that links the packages the design card requires berth to
// keep (the Docker Engine client, go-connections, cobra, moby/term and
// Masterminds/semver, which must stay in use). Go runs the initialisation
// of every linked package, so what these cost at start (the Docker
// client's distribution/reference and go-digest regular expressions,
// semver's) no berth can avoid. hack/bench-floor.sh prints berth
// --version beside it and beside a plain hello world. With
// BERTH_SUPERVISOR_READY_FD set it answers "ready" there instead, as a
// spawned supervisor does, and waits to be killed: the floor of
// hack/bench-spawn.sh.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/Masterminds/semver/v3"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/go-connections/nat"
	_ "github.com/moby/term"
	_ "github.com/spf13/cobra"
)

func main() {
	if fd, err := strconv.Atoi(os.Getenv("BERTH_SUPERVISOR_READY_FD")); err == nil {
		os.NewFile(uintptr(fd), "ready").Write([]byte("ready\n"))
		time.Sleep(time.Hour) // until hack/readywait's TERM
		return
	}
	fmt.Println("hello", semver.MustParse("1.0.0"))
}
