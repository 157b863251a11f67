package runtime_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
	"github.com/berthdev/berth/runtime/swarm"
)

// stateBefore is runtime.State as it was when runner-specific fields
// lived on it: `status -o json` must keep every field name and value it
// wrote (README: no field is removed or renamed), with the keys every
// berth document has since gained beside them (service, uptime_ms).
type stateBefore struct {
	Name         string       `json:"name"`
	State        string       `json:"state"`
	PID          int          `json:"pid,omitempty"`
	Runner       string       `json:"runner"`
	StartedAt    *time.Time   `json:"started_at,omitempty"`
	Uptime       string       `json:"uptime,omitempty"`
	Reason       string       `json:"reason,omitempty"`
	Warning      string       `json:"warning,omitempty"`
	Health       string       `json:"health,omitempty"`
	HealthDetail string       `json:"health_detail,omitempty"`
	Detail       string       `json:"detail,omitempty"`
	Host         string       `json:"host,omitempty"`
	Service      string       `json:"service"`
	UptimeMS     *int64       `json:"uptime_ms,omitempty"`
	ContainerID  string       `json:"container_id,omitempty"`
	Containers   []string     `json:"containers,omitempty"`
	Tasks        []swarm.Task `json:"tasks,omitempty"`
}

func TestStateJSONUnchanged(t *testing.T) {
	at := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	id := "0123456789abcdef0123"
	minute := int64(60000)
	tasks := []swarm.Task{{ID: "t1", Slot: 1, Node: "n1", State: "running", Desired: "running", Image: "img@sha256:ab"}}
	tests := []struct {
		name   string
		now    runtime.State
		before stateBefore
	}{
		{"process running",
			runtime.State{Name: "api", State: runtime.Running, PID: 42, Runner: "process", StartedAt: &at, Uptime: "1m0s", Health: "healthy", HealthDetail: "port open"},
			stateBefore{Name: "api", Service: "api", State: "running", PID: 42, Runner: "process", StartedAt: &at, Uptime: "1m0s", UptimeMS: &minute, Health: "healthy", HealthDetail: "port open"}},
		{"process stale",
			runtime.State{Name: "api", State: runtime.Stopped, Runner: "process", Reason: "the process exited", Warning: "odd"},
			stateBefore{Name: "api", Service: "api", State: "stopped", Runner: "process", Reason: "the process exited", Warning: "odd"}},
		{"container running on a host",
			runtime.State{Name: "web", State: runtime.Running, Runner: "container", StartedAt: &at, Host: "far", Detail: container.Detail{ID: id, Host: "far"}},
			stateBefore{Name: "web", Service: "web", State: "running", Runner: "container", StartedAt: &at, Detail: "container 0123456789ab on far", Host: "far", ContainerID: id}},
		{"container exited",
			runtime.State{Name: "web", State: runtime.Stopped, Runner: "container", Reason: "container 0123456789ab exited with code 1", Detail: container.Detail{ID: id}},
			stateBefore{Name: "web", Service: "web", State: "stopped", Runner: "container", Reason: "container 0123456789ab exited with code 1", ContainerID: id}},
		{"compose partly running",
			runtime.State{Name: "db", State: runtime.Running, Runner: "compose", Reason: "not running: b", Detail: compose.Detail{Containers: []string{"a"}}},
			stateBefore{Name: "db", Service: "db", State: "running", Runner: "compose", Reason: "not running: b", Detail: "a", Containers: []string{"a"}}},
		{"compose down",
			runtime.State{Name: "db", State: runtime.Stopped, Runner: "compose", Reason: "compose services a are not running"},
			stateBefore{Name: "db", Service: "db", State: "stopped", Runner: "compose", Reason: "compose services a are not running"}},
		{"swarm running",
			runtime.State{Name: "api", State: runtime.Running, Runner: "swarm", Detail: swarm.Detail{Tasks: tasks, Summary: "swarm service 0123456789ab, 1/1 tasks"}},
			stateBefore{Name: "api", Service: "api", State: "running", Runner: "swarm", Detail: "swarm service 0123456789ab, 1/1 tasks", Tasks: tasks}},
		{"swarm with no task running",
			runtime.State{Name: "api", State: runtime.Stopped, Runner: "swarm", Reason: "no task", Detail: swarm.Detail{Tasks: tasks}},
			stateBefore{Name: "api", Service: "api", State: "stopped", Runner: "swarm", Reason: "no task", Tasks: tasks}},
		{"unknown",
			runtime.State{Name: "web", State: runtime.Unknown, Runner: "container", Reason: "daemon away"},
			stateBefore{Name: "web", Service: "web", State: "unknown", Runner: "container", Reason: "daemon away"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.now)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(tc.before)
			if string(got) != string(want) {
				t.Errorf("json\n got %s\nwant %s", got, want)
			}
			// A list of states, as status -o json writes it, uses the same form.
			list, _ := json.Marshal([]runtime.State{tc.now})
			if string(list) != "["+string(want)+"]" {
				t.Errorf("json of a list %s", list)
			}
		})
	}
}
