package runnertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// WithTestsvc builds hack/testsvc, the program that plays services in
// berth's tests, into a temporary directory, stores its path in *path, runs
// the package's tests (run is m.Run) and removes the directory. It returns
// the exit code for os.Exit.
func WithTestsvc(path *string, run func() int) int {
	dir, err := os.MkdirTemp("", "testsvc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*path = filepath.Join(dir, "testsvc")
	if out, err := exec.Command("go", "build", "-o", *path, "github.com/berthdev/berth/hack/testsvc").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testsvc: %v\n%s", err, out)
		return 1
	}
	return run()
}
