package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// uptimeMS is uptime ("4m12s") in milliseconds; nil when not running.
func uptimeMS(uptime string) *int64 {
	d, err := time.ParseDuration(uptime)
	if err != nil || uptime == "" {
		return nil
	}
	ms := d.Milliseconds()
	return &ms
}

// describe is the runner's description of a running service, or "".
func (s State) describe() string {
	if s.Detail == nil || !s.IsRunning() {
		return ""
	}
	return s.Detail.Describe()
}

// MarshalJSON writes the state as `status -o json` has always shown it:
// the common fields, "detail" (the runner's description while the service
// runs) and "host", then the runner's own fields in the same object.
func (s State) MarshalJSON() ([]byte, error) {
	type plain State // without this method
	// Host is repeated here, shallower than plain's, so that it follows
	// "detail" as it always has.
	// "service" (the same as "name", which stays) and "uptime_ms" beside
	// the human "uptime" are the keys every berth document shares; the
	// README promises no key is removed or renamed.
	base, err := json.Marshal(struct {
		plain
		Describe string `json:"detail,omitempty"`
		Host     string `json:"host,omitempty"`
		Service  string `json:"service"`
		UptimeMS *int64 `json:"uptime_ms,omitempty"`
	}{plain(s), s.describe(), s.Host, s.Name, uptimeMS(s.Uptime)})
	if err != nil || s.Detail == nil {
		return base, err
	}
	own, err := json.Marshal(s.Detail)
	if err != nil {
		return nil, fmt.Errorf("state of %s: %w", s.Name, err)
	}
	own = bytes.TrimSpace(own)
	if len(own) < 2 || own[0] != '{' {
		return nil, fmt.Errorf("state of %s: the %s runner's detail is not a JSON object", s.Name, s.Runner)
	}
	if string(own) == "{}" {
		return base, nil
	}
	return append(append(base[:len(base)-1], ','), own[1:]...), nil
}
