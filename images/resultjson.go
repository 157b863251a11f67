package images

import "encoding/json"

// MarshalJSON adds "duration_ms", the unit every berth document uses for
// durations, beside the original "duration_ns", which stays.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		DurationMS float64 `json:"duration_ms"`
	}{plain(r), float64(r.Duration.Microseconds()) / 1000})
}
