package load

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkInstrumentation measures what per-request tracing costs: the same
// keep-alive GET against a loopback server through a bare http.Transport and
// through the tracing transport (httptrace hooks, timeout context, body
// wrapper, Server-Timing parse, trace filing), then the recording of its
// result (histograms and tail). The difference is the overhead per request.
func BenchmarkInstrumentation(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server-Timing", "db;dur=1.5, queue;dur=0.1")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	do := func(b *testing.B, rt http.RoundTripper) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set(seqHeader, strconv.Itoa(i))
			res, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	b.Run("bare", func(b *testing.B) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		do(b, tr)
	})
	b.Run("traced", func(b *testing.B) {
		base := &http.Transport{}
		defer base.CloseIdleConnections()
		traces := newTraces()
		tr := &transport{base: base, timeout: time.Minute, traces: traces, now: time.Now}
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			res, err := tr.RoundTrip(r)
			seq, _ := strconv.ParseUint(r.Header.Get(seqHeader), 10, 64)
			if err == nil {
				res.Body = takeOnClose{res.Body, func() { traces.take(seq) }}
			}
			return res, err
		})
		do(b, rt)
	})
	b.Run("record", func(b *testing.B) {
		rec := histogram.NewRecorder(histogram.TailSize(1e6))
		r := newRecorder(rec, false)
		now := time.Now()
		tr := &Trace{Start: now, TTFB: 2 * time.Millisecond, First: now.Add(2 * time.Millisecond), End: now.Add(3 * time.Millisecond),
			Metrics: []Metric{{"db", 1500 * time.Microsecond}, {"queue", 100 * time.Microsecond}}}
		res := &vegeta.Result{Code: 200, Timestamp: now, Latency: 3 * time.Millisecond}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			res.Latency = time.Duration(i%5000) * time.Microsecond
			r.record(res, tr, now)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type takeOnClose struct {
	io.ReadCloser
	take func()
}

func (t takeOnClose) Close() error {
	err := t.ReadCloser.Close()
	t.take()
	return err
}
