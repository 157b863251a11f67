package images

import (
	"encoding/json"
	"maps"
	"testing"
)

var decodeSumsCases = []string{
	`{"a/b":{"size":4,"mode":420,"mtime":1764425000123456789,"ctime":1764425000123456789,"ino":77,"dev":64768,"at":1764425001123456789,"sum":"ab12"}}`,
	`{"x":{"size":0,"mode":0,"mtime":0,"ctime":0,"ino":0,"dev":0,"at":0,"sum":""},"y":{"size":1,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}}`,
	`{}`, `{"a":{}}`, `{"a":null}`, `{"a\u003cb":{"size":1,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}}`,
	`{"a":{"mode":1,"size":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}}`,
	`{"a":{"size":-1,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}}`,
	`{"a":{"size":1,"mode":4294967296,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}}`,
	`{"a":{"size":1,"mode":1,"mtime":1,"ctime":1,"ino":18446744073709551615,"dev":1,"at":1,"sum":"s"}}`,
	`{"a":{"size":1,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"},"a":{"size":2,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"t"}}`,
	`{"a":{"size":01,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}}`,
	`{"a":{"size":1,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"},}`,
	`[]`, `{"a":{"size":1,"mode":1,"mtime":1,"ctime":1,"ino":1,"dev":1,"at":1,"sum":"s"}`,
}

func FuzzDecodeSums(f *testing.F) {
	for _, c := range decodeSumsCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sumsAgreeWithJSON(t, data) })
}

// TestDecodeSumsAgreesWithJSON: what the shortcut accepts, encoding/json
// reads the same; and what berth writes takes the shortcut.
func TestDecodeSumsAgreesWithJSON(t *testing.T) {
	for _, c := range decodeSumsCases {
		sumsAgreeWithJSON(t, []byte(c))
	}
	want := map[string]sumEntry{
		"Dockerfile": {Size: 30, Mode: 0o100644, Mtime: 1764425000123456789, Ctime: 1764425000123456790, Ino: 1 << 40, Dev: 64768, At: 1764425002000000000, Sum: "0f3a"},
		"dir/naïve":  {Size: 1 << 33, Mode: 0o100755, Ino: 5, Sum: "77"},
	}
	data, _ := json.Marshal(want)
	got, ok := decodeSums(data)
	if !ok || !maps.Equal(got, want) {
		t.Fatalf("decodeSums(%s) = %v, %v", data, got, ok)
	}
}

func sumsAgreeWithJSON(t *testing.T, data []byte) {
	t.Helper()
	got, ok := decodeSums(data)
	if !ok {
		return
	}
	var want map[string]sumEntry
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("decodeSums accepted %s; encoding/json: %v", data, err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s: decodeSums %v, encoding/json %v", data, got, want)
	}
}
