package health

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestReportLines(t *testing.T) {
	tests := []struct {
		name    string
		running bool
		result  *Result
		want    string
	}{
		{"gateway", true, &Result{Healthy: true, Kind: "http", Detail: "http 200", Duration: 3200 * time.Microsecond}, "✅ gateway: healthy (http 200, 3 ms)"},
		{"fast", true, &Result{Healthy: true, Kind: "file", Detail: "file ready exists", Duration: 40 * time.Microsecond}, "✅ fast: healthy (file ready exists, <1 ms)"},
		{"tranqu", true, &Result{Kind: "tcp", Detail: "tcp 127.0.0.1:51020: connection refused"}, "❌ tranqu: unhealthy (tcp 127.0.0.1:51020: connection refused)"},
		{"core", false, nil, "⚪ core: not running"},
		{"core", false, &Result{Healthy: true}, "⚪ core: not running"},
		{"web", true, nil, "➖ web: running (no health check)"},
	}
	for _, tt := range tests {
		if got := NewReport(tt.name, tt.running, tt.result).Line(); got != tt.want {
			t.Errorf("line = %q, want %q", got, tt.want)
		}
	}
}

func TestRender(t *testing.T) {
	ok := &Result{Healthy: true, Kind: "http", Detail: "http 200", Duration: 3 * time.Millisecond}
	bad := &Result{Kind: "tcp", Detail: "tcp 127.0.0.1:51020: connection refused", Duration: time.Millisecond}
	tests := []struct {
		reports []Report
		want    string
	}{
		{
			[]Report{NewReport("gateway", true, ok), NewReport("a", true, ok), NewReport("b", true, ok), NewReport("tranqu", true, bad),
				NewReport("core", false, nil), NewReport("c", false, nil), NewReport("d", false, nil)},
			"✅ gateway: healthy (http 200, 3 ms)\n✅ a: healthy (http 200, 3 ms)\n✅ b: healthy (http 200, 3 ms)\n" +
				"❌ tranqu: unhealthy (tcp 127.0.0.1:51020: connection refused)\n⚪ core: not running\n⚪ c: not running\n⚪ d: not running\n" +
				"3 healthy, 1 unhealthy, 3 not running\n",
		},
		{[]Report{NewReport("web", true, nil)}, "➖ web: running (no health check)\n0 healthy, 0 unhealthy, 0 not running, 1 without a check\n"},
		{nil, "0 healthy, 0 unhealthy, 0 not running\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := Render(&b, tt.reports); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("Render =\n%s\nwant\n%s", b.String(), tt.want)
		}
	}
}

func TestRenderJSON(t *testing.T) {
	var b bytes.Buffer
	r := &Result{Healthy: true, Kind: "http", Detail: "http 200", Duration: 1500 * time.Microsecond}
	if err := RenderJSON(&b, []Report{NewReport("gateway", true, r), NewReport("core", false, nil)}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Services []struct {
			Service string
			State   string
			Result  *struct {
				Healthy    bool    `json:"healthy"`
				Detail     string  `json:"detail"`
				DurationMS float64 `json:"duration_ms"`
			}
		}
		Summary Counts
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, b.String())
	}
	if len(got.Services) != 2 || got.Services[0].State != "healthy" || got.Services[0].Result.DurationMS != 1.5 ||
		got.Services[1].State != "not running" || got.Services[1].Result != nil {
		t.Errorf("JSON = %s", b.String())
	}
	if got.Summary != (Counts{Healthy: 1, NotRunning: 1}) {
		t.Errorf("summary = %+v", got.Summary)
	}
}
