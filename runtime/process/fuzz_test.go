package process

import "testing"

func FuzzParsePIDFile(f *testing.F) {
	for _, s := range []string{"123\n", `{"pid":1,"pgid":1,"start_time":5}`, "", "{", "-4", "12 13"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parsePIDFile(data)
		if err == nil && (r.PID < 0 || (r.PID == 0 && r.Token == "")) {
			t.Fatalf("accepted pid %d", r.PID)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("12 (a b) c) S 1 12 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 6896 1 1"))
	f.Add([]byte("1 (x) R"))
	f.Fuzz(func(t *testing.T, data []byte) { parseStat(data) })
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line      string
		wantPGID  int
		wantStart uint64
		wantErr   bool
	}{
		{"12 (sh) S 1 12 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 6896 1 1", 12, 6896, false},
		{"12 (a) b) c) Z 1 40 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 77 1 1", 40, 77, false},
		{"12 (sh) S 1", 0, 0, true},
		{"garbage", 0, 0, true},
	}
	for _, tc := range tests {
		st, err := parseStat([]byte(tc.line))
		if (err != nil) != tc.wantErr || st.PGID != tc.wantPGID || st.StartTime != tc.wantStart {
			t.Errorf("parseStat(%q) = %+v, %v", tc.line, st, err)
		}
	}
}
