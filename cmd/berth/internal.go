package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
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
	c.AddCommand(newLogPipeCommand(g))
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
