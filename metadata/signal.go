package metadata

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// signalNames is berth's one table of signal names: what berth.yaml's
// stop_signal accepts and what berth prints for a signal.
var signalNames = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
	"QUIT": syscall.SIGQUIT, "KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2, "ABRT": syscall.SIGABRT, "SEGV": syscall.SIGSEGV,
}

// SignalName is the name of sig without SIG (TERM), or its number when
// it has no name in the table.
func SignalName(sig syscall.Signal) string {
	for name, s := range signalNames {
		if s == sig {
			return name
		}
	}
	return strconv.Itoa(int(sig))
}

// ParseSignal reads TERM, SIGTERM or 15.
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q (use TERM, INT, HUP, QUIT, KILL, USR1 or USR2)", s)
}
