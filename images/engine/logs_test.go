package engine_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/engine/enginetest"
)

// TestLogsDemultiplexed: the stream headers of a non-TTY container are
// gone, both streams arrive, and the options reach the daemon as it
// spells them.
func TestLogsDemultiplexed(t *testing.T) {
	var mux bytes.Buffer
	stdcopy.NewStdWriter(&mux, stdcopy.Stdout).Write([]byte("out 1\n"))
	stdcopy.NewStdWriter(&mux, stdcopy.Stderr).Write([]byte("err 1\n"))
	stdcopy.NewStdWriter(&mux, stdcopy.Stdout).Write([]byte("out 2\n"))
	tests := []struct {
		name      string
		opts      engine.LogOptions
		tail      string
		since     string
		following bool
	}{
		{"all", engine.LogOptions{Tail: -1}, "all", "", false},
		{"tail since follow", engine.LogOptions{Tail: 2, Since: time.Unix(1700000000, 0), Follow: true}, "2", "1700000000.000000000", true},
		// To the nanosecond: a follow re-opened after its last line.
		{"since nanoseconds", engine.LogOptions{Tail: -1, Since: time.Unix(1700000000, 5)}, "all", "1700000000.000000005", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got container.LogsOptions
			f := &enginetest.Fake{ContainerLogsFunc: func(_ context.Context, id string, o container.LogsOptions) (io.ReadCloser, error) {
				got = o
				return io.NopCloser(bytes.NewReader(mux.Bytes())), nil
			}}
			rc, err := engine.Logs(context.Background(), f, "c1", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			out, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != "out 1\nerr 1\nout 2\n" {
				t.Errorf("read %q", out)
			}
			if !got.ShowStdout || !got.ShowStderr || got.Tail != tt.tail || got.Since != tt.since || got.Follow != tt.following {
				t.Errorf("options %+v, want tail %s since %q follow %v", got, tt.tail, tt.since, tt.following)
			}
		})
	}
}

// With Times, the daemon is asked for timestamps; each message's is cut
// from the line and handed over, a part of a long line included.
func TestLogsTimes(t *testing.T) {
	var mux bytes.Buffer
	stdcopy.NewStdWriter(&mux, stdcopy.Stdout).Write([]byte("2026-11-29T14:00:00.000000001Z out 1\n"))
	stdcopy.NewStdWriter(&mux, stdcopy.Stderr).Write([]byte("2026-11-29T14:00:00.5Z err 1 first part "))
	stdcopy.NewStdWriter(&mux, stdcopy.Stderr).Write([]byte("2026-11-29T14:00:00.6Z second part\n"))
	var got container.LogsOptions
	f := &enginetest.Fake{ContainerLogsFunc: func(_ context.Context, id string, o container.LogsOptions) (io.ReadCloser, error) {
		got = o
		return io.NopCloser(bytes.NewReader(mux.Bytes())), nil
	}}
	var times []string
	rc, err := engine.Logs(context.Background(), f, "c1", engine.LogOptions{Tail: -1, Times: func(t time.Time) {
		times = append(times, t.Format(time.RFC3339Nano))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, _ := io.ReadAll(rc)
	if !got.Timestamps || string(out) != "out 1\nerr 1 first part second part\n" {
		t.Errorf("timestamps %v, read %q", got.Timestamps, out)
	}
	if want := []string{"2026-11-29T14:00:00.000000001Z", "2026-11-29T14:00:00.5Z", "2026-11-29T14:00:00.6Z"}; !slices.Equal(times, want) {
		t.Errorf("times %q, want %q", times, want)
	}
}

func TestLogsError(t *testing.T) {
	f := &enginetest.Fake{ContainerLogsFunc: func(context.Context, string, container.LogsOptions) (io.ReadCloser, error) {
		return nil, enginetest.NotFound("container")
	}}
	if _, err := engine.Logs(context.Background(), f, "0123456789abcdef", engine.LogOptions{Tail: -1}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("container 0123456789ab:")) {
		t.Errorf("got %v, want an error naming the short id", err)
	}
}
