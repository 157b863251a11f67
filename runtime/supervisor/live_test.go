package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// countingRunner counts the surveys a status makes.
type countingRunner struct {
	*Runner
	surveys int
}

func (c *countingRunner) Survey(ctx context.Context) context.Context {
	c.surveys++
	return c.Runner.Survey(ctx)
}

func managerOf(env *metadata.Env, r runtime.Runner) *runtime.Manager {
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return r, nil })
	return &runtime.Manager{Env: env, Runners: reg}
}

// A status through the supervisor's survey shows what inspecting each
// service's process shows, and stops vouching for a launch once the
// supervisor has seen it end or its record names another process.
func TestStatusSurveyAgreesWithInspection(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 3, `[sleep, "1000"]`)
	proc := process.New(process.Options{})
	r := NewRunner(proc, c)
	ctx := context.Background()
	handles := map[string]runtime.Handle{}
	for _, name := range []string{"s0", "s1"} {
		var svc *runtime.Service
		svc, handles[name] = startSettled(t, env, r, name)
		stopAtCleanup(t, r, svc, handles[name])
	}
	live, err := c.Live()
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range handles {
		if got := live[name]; got.PID != h.PID || got.StartTime != h.StartTime || got.Token != h.Token {
			t.Errorf("live %s: %+v, want the launch %+v", name, got, h)
		}
	}
	if _, ok := live["s2"]; ok || len(live) != 2 {
		t.Errorf("live: %v, want s0 and s1 only", live)
	}
	same := func(when string) {
		t.Helper()
		cr := &countingRunner{Runner: r}
		surveyed, err1 := managerOf(env, cr).Status(ctx, nil, runtime.StatusRequest{})
		if cr.surveys != 1 {
			t.Errorf("%s: %d surveys in a status, want 1", when, cr.surveys)
		}
		inspected, err2 := managerOf(env, proc).Status(ctx, nil, runtime.StatusRequest{})
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: status: %v / %v", when, err1, err2)
		}
		a, _ := json.Marshal(surveyed)
		b, _ := json.Marshal(inspected)
		if string(a) != string(b) {
			t.Errorf("%s: status through the survey\n%s\nwhile inspecting each\n%s", when, a, b)
		}
	}
	same("two running, one never started")
	if s, ok := r.Survey(ctx).Value(liveKey{r}).(*survey); !ok {
		t.Error("a survey's context holds no survey")
	} else if _, vouched := s.vouchFor("s0"); !vouched || len(s.live) != 2 {
		t.Errorf("a survey's answer is %v, want the two live launches", s.live)
	}

	// A record naming another process of the same PID (another launch
	// token) is not the supervisor's launch: inspected, not vouched.
	s0, _ := runtime.Resolve(env, "s0")
	pidFile := filepath.Join(s0.StateDir, "s0.pid")
	orig, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	forged := handles["s0"]
	forged.Token += "0"
	data, _ := json.Marshal(forged)
	os.WriteFile(pidFile, data, 0o644)
	if st := proc.InspectRead(s0, proc.ReadRecord(s0), func() (runtime.Handle, bool) { return handles["s0"], true }); st.State == runtime.Running {
		t.Errorf("InspectSurveyed shows %s running on a record that names another launch: %+v", st.Name, st)
	}
	same("s0's record names another launch token")
	os.WriteFile(pidFile, orig, 0o644)

	// Killed, s1 is not vouched for once the supervisor has seen it end.
	syscall.Kill(handles["s1"].PID, syscall.SIGKILL)
	testkit.Eventually(t, 10*time.Second, func() error {
		live, err := c.Live()
		if _, ok := live["s1"]; ok || err != nil {
			return fmt.Errorf("the supervisor lists s1 after it was killed (%v)", err)
		}
		return nil
	})
	same("s1 killed")
	// Its exit recorded, the supervisor writes nothing more of s1.
	testkit.Eventually(t, 10*time.Second, func() error {
		if rec, _ := ReadRecord(c.Paths, "s1"); rec.Supervised || rec.LastExit == nil {
			return fmt.Errorf("s1's record %+v", rec)
		}
		return nil
	})
}

// stopAtCleanup stops svc at the test's end, through the supervisor, so
// that nothing writes in the test's directory as it is removed.
func stopAtCleanup(t *testing.T, r *Runner, svc *runtime.Service, h runtime.Handle) {
	t.Cleanup(func() {
		r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second, Kill: true})
	})
}

// A survey's lines are read back exactly; anything else is an error, and
// the status then inspects every service.
func TestParseLive(t *testing.T) {
	got, err := parseLive("api 123 456 id/api/ab;web 7 8 id/web/cd;")
	if api, ok := got.handle("api"); err != nil || len(got) != 2 || !ok || api != (runtime.Handle{Service: "api", PID: 123, StartTime: 456, Token: "id/api/ab"}) {
		t.Errorf("parseLive: %+v, %v", got, err)
	}
	if got, err := parseLive(""); err != nil || len(got) != 0 {
		t.Errorf("parseLive of nothing: %v, %v", got, err)
	}
	for _, bad := range []string{"api 123 456;", "api x 456 tok;", "api 1 -2 tok;", "api 1 2 tok extra;", "api 1 2 tok", " 1 2 tok;", "api 1 2 ;"} {
		if _, err := parseLive(bad); err == nil {
			t.Errorf("parseLive(%q): no error", bad)
		}
	}
}

// A status's survey is asked for before its manifest is read and read
// after: the answer tells revive that a supervisor runs; a prefetch that
// found none is asked again (revive may have started one since).
func TestPrefetchedSurvey(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 1, `[sleep, "1000"]`)
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startSettled(t, env, r, "s0")
	stopAtCleanup(t, r, svc, h)

	pc := &Client{Paths: c.Paths, Version: c.Version}
	pc.PrefetchLive()
	if !pc.prefetchAnswered() {
		t.Error("prefetchAnswered false with a supervisor serving")
	}
	if err := pc.Revive(); err != nil {
		t.Errorf("Revive after an answered prefetch: %v", err)
	}
	live, err := pc.takeLive()
	if err != nil || live["s0"].pid != h.PID {
		t.Errorf("takeLive: %v, %v; want s0 as PID %d", live, err, h.PID)
	}
	// A status revives after its survey took the prefetch: the answer
	// still says that a supervisor runs.
	if !pc.prefetchAnswered() {
		t.Error("prefetchAnswered false once the survey took the answered prefetch")
	}

	none := &Client{Paths: PathsOf(t.TempDir()), Version: c.Version}
	none.PrefetchLive()
	if none.prefetchAnswered() {
		t.Error("prefetchAnswered true with no supervisor")
	}
	none.Paths = c.Paths // as if revive had started one meanwhile
	if live, err := none.takeLive(); err != nil || live["s0"].pid != h.PID {
		t.Errorf("takeLive after a prefetch that found none: %v, %v; want it asked again", live, err)
	}
	if !none.prefetchAnswered() {
		t.Error("prefetchAnswered false after the survey's own request was answered")
	}
}

// A stop's plan takes the supervisor's survey, once, as a status does, and
// plans what inspecting each process plans; the stop that follows, through
// the supervisor, ends what it planned to.
func TestStopPlanSurveys(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 3, `[sleep, "1000"]`)
	proc := process.New(process.Options{})
	r := NewRunner(proc, c)
	ctx := context.Background()
	pids := map[string]int{}
	for _, name := range []string{"s0", "s1"} {
		svc, h := startSettled(t, env, r, name)
		pids[name] = h.PID
		stopAtCleanup(t, r, svc, h)
	}
	cr := &countingRunner{Runner: r}
	m := managerOf(env, cr)
	p, err := m.PlanStop(ctx, []string{"all"}, runtime.StopRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cr.surveys != 1 {
		t.Errorf("%d surveys in a stop's plan, want 1", cr.surveys)
	}
	inspected, err := managerOf(env, proc).PlanStop(ctx, []string{"all"}, runtime.StopRequest{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(p.Running)
	b, _ := json.Marshal(inspected.Running)
	if string(a) != string(b) || len(p.Running) != 2 {
		t.Errorf("the plan through the survey runs\n%s\nwhile inspecting each\n%s", a, b)
	}
	results, err := m.ExecuteStop(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if pid, ok := pids[res.Name]; ok && (!res.WasRunning || res.PID != pid) {
			t.Errorf("%s: %+v, want it stopped as running with PID %d", res.Name, res, pid)
		}
	}
	for name, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			if st, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); !strings.Contains(string(st), ") Z ") {
				t.Errorf("%s (PID %d) still runs after the stop", name, pid)
			}
		}
	}
}

// A supervisor that takes the survey's request and does not answer holds
// a status up for liveTimeout once, not twice, and counts as running:
// revive spawns no other, and the status inspects as without one.
func TestSurveyOfASupervisorThatDoesNotAnswer(t *testing.T) {
	old := liveTimeout
	liveTimeout = 200 * time.Millisecond
	t.Cleanup(func() { liveTimeout = old })
	p := PathsOf(t.TempDir())
	os.MkdirAll(p.Dir, 0o755)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p.Socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // takes every connection and says nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := &Client{Paths: p, Version: "test"}
	start := time.Now()
	c.PrefetchLive()
	if !c.prefetchAnswered() {
		t.Error("prefetchAnswered false for a supervisor that took the request")
	}
	if err := c.Revive(); err != nil {
		t.Errorf("Revive: %v", err)
	}
	r := NewRunner(process.New(process.Options{}), c)
	if s, ok := r.Survey(context.Background()).Value(liveKey{r}).(*survey); !ok {
		t.Error("a survey's context holds no survey")
	} else if _, vouched := s.vouchFor("s0"); vouched || s.live != nil {
		t.Errorf("a survey without an answer vouched for launches: %v", s.live)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d >= 400*time.Millisecond {
		t.Errorf("the status waited %v for a supervisor that does not answer; want the timeout (200ms) once", d)
	}
}

// A start reports what it launched as a status does, with the
// supervisor's survey (one request) rather than /proc files of each
// launch, and reports the same.
func TestStartReportSurveys(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 3, `[sleep, "1000"]`)
	proc := process.New(process.Options{})
	r := NewRunner(proc, c)
	ctx := context.Background()
	cr := &countingRunner{Runner: r}
	m := managerOf(env, cr)
	m.StartCheck = 20 * time.Millisecond
	p, err := m.PlanStart(ctx, []string{"all"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	states, err := m.Execute(ctx, p)
	for _, st := range states {
		svc, _ := runtime.Resolve(env, st.Name)
		stopAtCleanup(t, r, svc, runtime.Handle{Service: st.Name, PID: st.PID})
	}
	if err != nil {
		t.Fatal(err)
	}
	if cr.surveys != 1 {
		t.Errorf("%d surveys in a start's report, want 1", cr.surveys)
	}
	inspected, err := managerOf(env, proc).Status(ctx, nil, runtime.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range states {
		states[i].Uptime = ""
	}
	for i := range inspected {
		inspected[i].Uptime = ""
	}
	a, _ := json.Marshal(states)
	b, _ := json.Marshal(inspected)
	if string(a) != string(b) || len(states) != 3 {
		t.Errorf("the start reports\n%s\nwhile inspecting each shows\n%s", a, b)
	}
}

// An answer as the supervisor writes it is read without encoding/json,
// to the same value; an error's message with quotes falls back to it.
func TestDecodeLiveAnswer(t *testing.T) {
	for _, want := range []liveAnswer{
		{Protocol: Protocol, Version: "v1.2.3+abc-dirty", PID: 4242, Live: "api 123 456 id/api/ab;web.1 7 8 id/web.1/cd;"},
		{Protocol: Protocol, Version: "dev"},
		{Protocol: 4, Version: "old", Error: "protocol 4", Code: "version"},
	} {
		line, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeLiveAnswer(append(line, '\n'))
		if !ok || got != want {
			t.Errorf("decodeLiveAnswer(%s) = %+v, %v; want %+v", line, got, ok, want)
		}
	}
	// The supervisor answers with a Response (reply): what it writes for
	// a survey must stay within what the shortcut reads.
	line, err := json.Marshal(Response{Protocol: Protocol, Version: "dev", PID: 7, Live: "api 1 2 id/api/ab;"})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := decodeLiveAnswer(line); !ok || got.Live != "api 1 2 id/api/ab;" || got.PID != 7 {
		t.Errorf("the supervisor's answer %s is not read by decodeLiveAnswer: %+v, %v", line, got, ok)
	}
	if _, ok := decodeLiveAnswer([]byte(`{"protocol":6,"error":"a \"quoted\" name"}`)); ok {
		t.Error("an escaped string was read without encoding/json")
	}
}

func FuzzDecodeLiveAnswer(f *testing.F) {
	f.Add([]byte(`{"protocol":6,"version":"dev","pid":12,"live":"a 1 2 t;"}`))
	f.Add([]byte(`{"protocol":6,"error":"x","code":"y"}` + "\n"))
	f.Add([]byte(`{"protocol":06,"pid":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := decodeLiveAnswer(data)
		if !ok {
			return
		}
		var want liveAnswer
		if err := json.Unmarshal(data, &want); err != nil || got != want {
			t.Fatalf("%q: read %+v, encoding/json %+v (%v)", data, got, want, err)
		}
	})
}
