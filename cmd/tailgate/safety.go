package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
)

// DefaultMaxUnconfirmedRate is the peak rate above which a run against a
// host other than this machine asks before sending: more than a person
// clicking, less than what hurts a small service.
const DefaultMaxUnconfirmedRate = 50 // per second

// safetyFlags guard `run` against sending load somewhere by mistake.
//
// A run whose target is not this machine and whose plan peaks above
// --max-unconfirmed-rate asks "send up to N/s to HOST? [y/N]" when stdin is
// a terminal, unless --yes is given. When stdin is not a terminal (CI, a
// pipe, /dev/null) it does not ask and proceeds, saying so on stderr: there
// is no one to answer, and a scheduled job that hung on a prompt, or failed
// because no one typed y, would be worse than the load it was written to send.
type safetyFlags struct {
	yes     bool
	maxRate rateFlag

	// in and interactive stand for stdin; nil means os.Stdin.
	in          io.Reader
	interactive func() bool
}

func (f *safetyFlags) register(cmd *cobra.Command) {
	f.maxRate = DefaultMaxUnconfirmedRate
	cmd.Flags().BoolVar(&f.yes, "yes", false, "do not ask before sending above --max-unconfirmed-rate to a host other than this machine")
	cmd.Flags().Var(&f.maxRate, "max-unconfirmed-rate", "peak rate above which a run against another host asks for confirmation when stdin is a terminal (N/s, N/m or N/h)")
}

// check warns about what the scenario turns off and asks for confirmation
// before a run that needs it: one whose plan peaks above --max-unconfirmed-rate
// (peak, per second). quiet silences the warning and the note, never the
// question. A refusal is a usage error (exit 2): nothing was sent.
func (f *safetyFlags) check(ctx context.Context, sc *scenario.Scenario, peak float64, quiet bool, stderr io.Writer) error {
	if sc.Target.Insecure && !quiet {
		fmt.Fprintln(stderr, "tailgate: warning: target.insecure is true: TLS certificates are not verified (for self-signed test servers only)")
	}
	if f.yes || sc.Target.Embedded() {
		return nil
	}
	u, err := url.Parse(sc.Target.URL)
	if err != nil || isLoopback(u.Hostname()) {
		return nil // validation has vetted the URL; loopback hurts no one else
	}
	if peak <= float64(f.maxRate) {
		return nil
	}
	host := maskSecrets(u.Host, sc.Secrets)
	if !f.isInteractive() {
		if !quiet {
			fmt.Fprintf(stderr, "tailgate: sending up to %s/s to %s without asking: stdin is not a terminal (asks above --max-unconfirmed-rate %s)\n", report.Rate(peak), host, f.maxRate.String())
		}
		return nil
	}
	fmt.Fprintf(stderr, "send up to %s/s to %s? [y/N] ", report.Rate(peak), host)
	if !f.confirmed(ctx) {
		return usagef("not sending to %s: not confirmed (--yes sends without asking)", host)
	}
	return nil
}

func (f *safetyFlags) isInteractive() bool {
	if f.interactive != nil {
		return f.interactive()
	}
	return isTerminal(os.Stdin)
}

// confirmed reads one answer; only y or yes is a yes. An interrupt while
// waiting is a no.
func (f *safetyFlags) confirmed(ctx context.Context) bool {
	in := f.in
	if in == nil {
		in = os.Stdin
	}
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true
		}
	case <-ctx.Done():
	}
	return false
}

// isTerminal reports whether f is a terminal. Without a terminal library it
// asks whether f is a character device other than /dev/null, which CI
// systems often give as stdin.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

// isLoopback reports whether host names this machine: localhost, a
// loopback address or the unspecified address (which connects locally).
// Names are not resolved: a name that resolves to 127.0.0.1 still asks.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || a.IsUnspecified()
}

// maskSecrets shows s with every value that came from a ${VAR}, in every
// encoding, replaced by ***: the masker's step, for a string shown before
// it reaches a writer.
func maskSecrets(s string, secrets []string) string {
	mk := &report.Masker{}
	mk.Add(secrets)
	return mk.String(s)
}

// rateFlag is a flag holding a rate written N/s, N/m or N/h.
type rateFlag scenario.Rate

func (r *rateFlag) String() string { return report.Rate(float64(*r)) + "/s" }

func (r *rateFlag) Set(s string) error {
	v, err := scenario.ParseRate(s)
	if err != nil {
		return err
	}
	*r = rateFlag(v)
	return nil
}

func (r *rateFlag) Type() string { return "rate" }
