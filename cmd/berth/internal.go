package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/berthdev/berth/metadata"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime/process"
)

// newInternalCommand holds berth's own small programs, such as the demo
// template's services, so that the demo needs nothing but the berth binary.
func newInternalCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:    "internal",
		Short:  "Programs berth runs itself (demo services)",
		Hidden: true,
	}
	var name, listen, messageFile string
	demo := &cobra.Command{
		Use:   "demo-service",
		Short: "A small HTTP service for the demo template",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemoService(cmd.Context(), g, name, listen, messageFile)
		},
	}
	demo.Flags().StringVar(&name, "name", "demo", "service name to report")
	demo.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to serve HTTP on")
	demo.Flags().StringVar(&messageFile, "message-file", "", "file whose first line the service reports (its component's version)")
	c.AddCommand(demo)
	c.AddCommand(&cobra.Command{
		Use:   "demo-rootfs DIR",
		Short: "Copy berth and the shared libraries it needs into DIR, for a FROM scratch image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := copyRootfs(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "copied %d file(s) into %s\n", len(files), args[0])
			return nil
		},
	})
	c.AddCommand(newLogPipeCommand(g), newSuperviseCommand(g))
	c.AddCommand(newDeviceStatusCommand(g))
	return c
}

// newLogPipeCommand is the log writer a process service with `log: {to: file}`
// writes through; it outlives berth so that rotation by size goes on.
func newLogPipeCommand(g *globalOptions) *cobra.Command {
	var path string
	var maxSize int64
	var maxFiles int
	c := &cobra.Command{
		Use:   "logpipe --path FILE [--max-size BYTES] [--max-files N]",
		Short: "Copy stdin into a log file rotated by size, until EOF",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return process.LogPipe(g.stdin, path, maxSize, maxFiles)
		},
	}
	c.Flags().StringVar(&path, "path", "", "log file")
	c.Flags().Int64Var(&maxSize, "max-size", 0, "rotate when the file would exceed this many bytes (0: never)")
	c.Flags().IntVar(&maxFiles, "max-files", 0, "rotated files to keep")
	c.MarkFlagRequired("path")
	return c
}

func runDemoService(ctx context.Context, g *globalOptions, name, listen, messageFile string) error {
	message := ""
	if messageFile != "" {
		b, err := os.ReadFile(messageFile)
		if err != nil {
			return fmt.Errorf("demo service %s: %w", name, err)
		}
		message, _, _ = strings.Cut(strings.TrimSpace(string(b)), "\n")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("demo service %s: %w", name, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(g.stdout, "%s: %s %s\n", name, r.Method, r.URL.Path)
		if message != "" {
			fmt.Fprintf(w, "%s from %s (%s)\n", os.Getenv("DEMO_GREETING"), name, message)
			return
		}
		fmt.Fprintf(w, "%s from %s\n", os.Getenv("DEMO_GREETING"), name)
	})
	srv := &http.Server{Handler: mux}
	fmt.Fprintf(g.stdout, "%s: listening on http://%s (pid %d)\n", name, ln.Addr(), os.Getpid())
	if message != "" {
		fmt.Fprintf(g.stdout, "%s: serving %s\n", name, message)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	fmt.Fprintf(g.stdout, "%s: stopped\n", name)
	return nil
}

// deviceStates are what `device-status` may write, as the OQTOPUS CLI's
// `backend device-status` accepts them.
var deviceStates = []string{"active", "inactive", "maintenance"}

// newDeviceStatusCommand is the backend template's device-status task: it
// shows or sets the device status file the gateway reads, with the OQTOPUS
// CLI's messages.
func newDeviceStatusCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "device-status FILE show|active|inactive|maintenance",
		Short: "Show or set the gateway's device status file",
		Args:  cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			return runDeviceStatus(g, args[0], args[1])
		},
	}
}

func runDeviceStatus(g *globalOptions, file, state string) error {
	if state != "show" && !slices.Contains(deviceStates, state) {
		return usagef("unknown device status %q: use show, %s", state, strings.Join(deviceStates, ", "))
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("device status file not found: %s", file)
	}
	if err != nil {
		return err
	}
	if state == "show" {
		_, err := g.stdout.Write(data)
		return err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	if err := metadata.WriteFileAtomic(file, []byte(state+"\n"), fi.Mode().Perm()); err != nil {
		return fmt.Errorf("write device status %s: %w", file, err)
	}
	fmt.Fprintln(g.stdout, state)
	return nil
}
