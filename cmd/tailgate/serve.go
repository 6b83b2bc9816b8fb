package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/embedded"
	"github.com/tailgate-dev/tailgate/scenario"
)

// serveCmd is `tailgate serve SCENARIO.yaml --addr HOST:PORT`.
type serveCmd struct {
	addr string
}

func newServeCmd() *cobra.Command {
	c := &serveCmd{}
	cmd := &cobra.Command{
		Use:   "serve SCENARIO.yaml",
		Short: "Run the embedded simulated service alone, for other tools to hit",
		Args:  args(1, "one scenario file"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	return cmd
}

// Run serves until interrupted, then stops at once (requests in flight
// fail) and returns the interruption's cause: exit 3, as every command
// that Ctrl-C stops.
func (c *serveCmd) Run(ctx context.Context, path string, stdout, _ io.Writer) error {
	sc, err := scenario.Load(path)
	if err != nil {
		return err
	}
	maskerOf(ctx).Add(sc.Secrets)
	srv, err := embedded.Start(ctx, sc, c.addr)
	if err != nil {
		return usagef("cannot serve on %s: %v", c.addr, err)
	}
	fmt.Fprintf(stdout, "serving %s (embedded service of %s) on %s; Ctrl-C stops\n", sc.Name, sc.File, srv.URL())
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return fmt.Errorf("stopping the embedded service: %w", err)
	}
	return context.Cause(ctx)
}
