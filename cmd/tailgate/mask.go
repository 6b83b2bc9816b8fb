package main

import (
	"context"

	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
)

type maskerKey struct{}

// withMasker carries m in ctx to the commands, which add the secrets of
// the scenarios they load.
func withMasker(ctx context.Context, m *report.Masker) context.Context {
	return context.WithValue(ctx, maskerKey{}, m)
}

// maskerOf returns the masker ctx carries, nil when none (a nil masker
// hides nothing).
func maskerOf(ctx context.Context) *report.Masker {
	m, _ := ctx.Value(maskerKey{}).(*report.Masker)
	return m
}

// maskerFor returns a masker hiding sc's secrets; sc may be nil.
func maskerFor(sc *scenario.Scenario) *report.Masker {
	mk := &report.Masker{}
	if sc != nil {
		mk.Add(sc.Secrets)
	}
	return mk
}
