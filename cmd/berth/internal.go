package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime/process"
)

// newInternalCommand holds berth's own small programs, such as the demo
// template's services, so that the demo needs nothing but the berth binary.
func init() { registerCommand(newInternalCommand) }

func newInternalCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:    "internal",
		Short:  "Programs berth runs itself (demo services)",
		Hidden: true,
	}
	var name, listen string
	demo := &cobra.Command{
		Use:   "demo-service",
		Short: "A small HTTP service for the demo template",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemoService(cmd.Context(), g, name, listen)
		},
	}
	demo.Flags().StringVar(&name, "name", "demo", "service name to report")
	demo.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to serve HTTP on")
	c.AddCommand(demo)
	c.AddCommand(newLogPipeCommand())
	return c
}

// newLogPipeCommand is the log writer a process service with `log: {to: file}`
// writes through; it outlives berth so that rotation by size goes on.
func newLogPipeCommand() *cobra.Command {
	var path string
	var maxSize int64
	var maxFiles int
	c := &cobra.Command{
		Use:   "logpipe --path FILE [--max-size BYTES] [--max-files N]",
		Short: "Copy stdin into a log file rotated by size, until EOF",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return process.LogPipe(os.Stdin, path, maxSize, maxFiles)
		},
	}
	c.Flags().StringVar(&path, "path", "", "log file")
	c.Flags().Int64Var(&maxSize, "max-size", 0, "rotate when the file would exceed this many bytes (0: never)")
	c.Flags().IntVar(&maxFiles, "max-files", 0, "rotated files to keep")
	c.MarkFlagRequired("path")
	return c
}

func runDemoService(ctx context.Context, g *globalOptions, name, listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("demo service %s: %w", name, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s from %s\n", os.Getenv("DEMO_GREETING"), name)
	})
	srv := &http.Server{Handler: mux}
	fmt.Fprintf(g.stdout, "%s: listening on http://%s (pid %d)\n", name, ln.Addr(), os.Getpid())
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
