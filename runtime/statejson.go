package runtime

import (
	"encoding/json"
	"time"
)

// MarshalJSON adds the keys every berth document shares to a state's own:
// "service" (the same as "name", which stays) and "uptime_ms" beside the
// human "uptime". The README promises no key is removed or renamed.
func (s State) MarshalJSON() ([]byte, error) {
	type plain State
	out := struct {
		plain
		Service  string `json:"service"`
		UptimeMS *int64 `json:"uptime_ms,omitempty"`
	}{plain: plain(s), Service: s.Name}
	if d, err := time.ParseDuration(s.Uptime); err == nil && s.Uptime != "" {
		ms := d.Milliseconds()
		out.UptimeMS = &ms
	}
	return json.Marshal(out)
}
