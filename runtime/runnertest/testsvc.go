package runnertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// WithTestsvc builds hack/testsvc, the program that plays services in
// berth's tests, into a temporary directory, stores its path in *path, runs
// the package's tests (run is m.Run) and removes the directory. It returns
// the exit code for os.Exit.
func WithTestsvc(path *string, run func() int) int {
	if fuzzing() {
		// A fuzz run (hack/test.sh: -run='^$' -fuzz=X) runs no test that
		// needs the helper, and every fuzz worker runs TestMain again: a build
		// per worker ate the whole -fuzztime on a loaded machine before the
		// seed corpus was even run ("context deadline exceeded").
		return run()
	}
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

// fuzzing says whether this test binary is a fuzzing coordinator or worker.
func fuzzing() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzzworker") || (strings.HasPrefix(a, "-test.fuzz=") && a != "-test.fuzz=") {
			return true
		}
	}
	return false
}
