package hugeheap

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// anonHugeKB is the process's memory in transparent huge pages.
func anonHugeKB(t *testing.T, smapsRollup []byte) int {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(smapsRollup))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "AnonHugePages:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no AnonHugePages in smaps_rollup")
	return 0
}

// TestHeapStartsOnHugePages: this test binary ran the package's init, so
// its heap holds a huge page (where the kernel offers them); with
// BERTH_HUGEHEAP=0 it holds none.
func TestHeapStartsOnHugePages(t *testing.T) {
	if os.Getenv("HUGEHEAP_CHILD") == "1" {
		b, err := os.ReadFile("/proc/self/smaps_rollup")
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("anon-huge-kb " + strconv.Itoa(anonHugeKB(t, b)) + "\n")
		return
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("no transparent huge pages here")
	}
	child := func(env ...string) int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHeapStartsOnHugePages$", "-test.v")
		cmd.Env = append(os.Environ(), append(env, "HUGEHEAP_CHILD=1")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		_, after, ok := strings.Cut(string(out), "anon-huge-kb ")
		n, err := strconv.Atoi(strings.Fields(after + " x")[0])
		if !ok || err != nil {
			t.Fatalf("no figure in\n%s", out)
		}
		return n
	}
	if kb := child(); kb < 2048 {
		t.Errorf("the heap holds %d kB of huge pages, want at least 2048", kb)
	}
	for _, off := range []string{"BERTH_HUGEHEAP=0", "GODEBUG=disablethp=1"} {
		if kb := child(off); kb != 0 {
			t.Errorf("with %s the process holds %d kB of huge pages", off, kb)
		}
	}
}
