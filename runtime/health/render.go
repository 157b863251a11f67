package health

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// State is a service's health as `berth health` reports it.
type State string

// States, in the words of the JSON output.
const (
	StateHealthy    State = "healthy"
	StateUnhealthy  State = "unhealthy"
	StateNotRunning State = "not running"
	// StateNoCheck is a running service that has no health check.
	StateNoCheck State = "no check"
)

// Report is one service's line in `berth health`.
type Report struct {
	Service string `json:"service"`
	State   State  `json:"state"`
	// Result is the check's outcome; nil when no check ran.
	Result *Result `json:"result,omitempty"`
}

// NewReport makes the report of a service from whether it runs and, if it
// has a check, that check's result.
func NewReport(service string, running bool, r *Result) Report {
	switch {
	case !running:
		return Report{Service: service, State: StateNotRunning}
	case r == nil:
		return Report{Service: service, State: StateNoCheck}
	case r.Healthy:
		return Report{Service: service, State: StateHealthy, Result: r}
	default:
		return Report{Service: service, State: StateUnhealthy, Result: r}
	}
}

// Line renders the report as `berth health` prints it:
//
//	✅ gateway: healthy (http 200, 3 ms)
//	❌ tranqu: unhealthy (tcp 127.0.0.1:51020: connection refused)
//	⚪ core: not running
//	➖ web: running (no health check)
func (r Report) Line() string {
	switch r.State {
	case StateHealthy:
		return fmt.Sprintf("✅ %s: healthy (%s, %s)", r.Service, r.Result.Detail, FormatDuration(r.Result.Duration))
	case StateUnhealthy:
		return fmt.Sprintf("❌ %s: unhealthy (%s)", r.Service, r.Result.Detail)
	case StateNoCheck:
		return fmt.Sprintf("➖ %s: running (no health check)", r.Service)
	default:
		return fmt.Sprintf("⚪ %s: not running", r.Service)
	}
}

// Plain is Line without its symbol, for output that is not a terminal or
// where NO_COLOR is set: "gateway: healthy (http 200, 3 ms)".
func (r Report) Plain() string {
	_, text, _ := strings.Cut(r.Line(), " ")
	return text
}

// FormatDuration renders a check's duration in whole milliseconds, the
// precision a person reads: "3 ms", "<1 ms".
func FormatDuration(d time.Duration) string {
	if d < time.Millisecond {
		return "<1 ms"
	}
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond)/time.Millisecond)
}

// Counts totals reports by state.
type Counts struct {
	Healthy    int `json:"healthy"`
	Unhealthy  int `json:"unhealthy"`
	NotRunning int `json:"not_running"`
	NoCheck    int `json:"no_check"`
}

// Count totals reports by state.
func Count(reports []Report) Counts {
	var c Counts
	for _, r := range reports {
		switch r.State {
		case StateHealthy:
			c.Healthy++
		case StateUnhealthy:
			c.Unhealthy++
		case StateNoCheck:
			c.NoCheck++
		default:
			c.NotRunning++
		}
	}
	return c
}

// String is the summary line, "3 healthy, 1 unhealthy, 3 not running",
// with ", 1 without a check" added only when there are such services.
func (c Counts) String() string {
	s := fmt.Sprintf("%d healthy, %d unhealthy, %d not running", c.Healthy, c.Unhealthy, c.NotRunning)
	if c.NoCheck > 0 {
		s += fmt.Sprintf(", %d without a check", c.NoCheck)
	}
	return s
}

// Render writes one line per report, each with its symbol, and the summary.
func Render(w io.Writer, reports []Report) error { return render(w, reports, Report.Line) }

// RenderPlain is Render in plain words, without the symbols.
func RenderPlain(w io.Writer, reports []Report) error { return render(w, reports, Report.Plain) }

func render(w io.Writer, reports []Report, line func(Report) string) error {
	var b strings.Builder
	for _, r := range reports {
		b.WriteString(line(r))
		b.WriteByte('\n')
	}
	b.WriteString(Count(reports).String())
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderJSON writes the reports and their counts as one JSON object.
func RenderJSON(w io.Writer, reports []Report) error {
	if reports == nil {
		reports = []Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Services []Report `json:"services"`
		Summary  Counts   `json:"summary"`
	}{reports, Count(reports)})
}
