package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errInterrupted is the cause of a command's context after SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted")

// interruptContext returns a context that ends at the first SIGINT or
// SIGTERM, for every command: a run stops sending, drains what is in flight
// and reports what it measured; simulate, validate, serve and plot stop
// where they are. Each then exits 3: interrupted, no trustworthy verdict. A
// second signal exits at once with code 3: the user has decided not to wait
// for the drain. stop releases the signals.
func interruptContext(parent context.Context, stderr io.Writer) (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, release := watchSignals(parent, sigs, stderr, os.Exit)
	return ctx, func() {
		signal.Stop(sigs)
		release()
	}
}

// watchSignals cancels the returned context on the first value from sigs
// and calls exit(exitNoTrust) on the second. Signals arrive on a channel, so
// a test can send them without signalling its own process.
func watchSignals(parent context.Context, sigs <-chan os.Signal, stderr io.Writer, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("%w by %s", errInterrupted, signalName(s)))
			// Said for every command; only a run has requests in flight.
			fmt.Fprintf(stderr, "tailgate: %s: stopping (again to quit at once)\n", signalName(s))
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			// The report and artifacts of this run are not written: the
			// verdict is "no trustworthy verdict", as for any interruption.
			fmt.Fprintf(stderr, "tailgate: %s again: quitting at once, nothing reported\n", signalName(s))
			exit(exitNoTrust)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		<-finished
		cancel(nil)
	}
}

// signalName is how a person calls the signal: SIGINT is the Ctrl-C they typed.
func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "interrupt"
	case syscall.SIGTERM:
		return "terminated"
	}
	return s.String()
}
