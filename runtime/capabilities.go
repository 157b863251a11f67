package runtime

// Capabilities says what a runner can do beyond the contract every runner
// keeps, as Nomad's drivers declare theirs. Callers ask instead of switching
// on the runner's kind, and the conformance suite in runtime/runnertest skips
// exactly what a runner leaves false, naming it.
type Capabilities struct {
	// Foreground: Run attaches the service to berth's stdio, forwards the
	// signals berth receives and returns its exit status. A compose project
	// has no single terminal.
	Foreground bool
	// LogLineTimes: Logs knows when each line was written, so
	// LogOptions.Since drops every earlier line. A plain log file keeps no
	// times: Since then drops only whole rotated files and stamped lines.
	LogLineTimes bool
	// StopWithoutKill: Stop without Kill leaves a service that outlives the
	// grace period running and says so. Swarm sends KILL itself when a
	// service's stop grace period ends.
	StopWithoutKill bool
	// LocalInspect: Inspect reads a few local files and asks no daemon, so
	// it takes microseconds. A status inspects such services one after
	// another: goroutines would cost more than they save.
	LocalInspect bool
	// Unmanaged: berth neither starts nor stops the service, it only
	// checks it (a remote endpoint). Start launches nothing and Ready
	// waits for the check; Stop does nothing; Inspect is the check.
	Unmanaged bool
}
