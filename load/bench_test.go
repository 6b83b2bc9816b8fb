package load

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
)

// BenchmarkInstrumentation measures what per-request tracing costs: the same
// keep-alive GET against a loopback server through a bare http.Transport and
// through the tracing transport (httptrace hooks, timeout context, header
// map, body wrapper, Server-Timing parse), then the recording of its
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
		tr := &transport{base: base, watch: newWatchdog(time.Minute), now: time.Now}
		tmpl, err := newTemplate("GET", srv.URL, http.Header{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := uint64(0); b.Loop(); i++ {
			// A new trace each time: no release, no reuse.
			if t := tr.send(tmpl, job{seq: i}, nil, nil); t.Err != nil {
				b.Fatal(t.Err)
			}
		}
	})
	b.Run("record", func(b *testing.B) {
		rec := histogram.NewRecorder(histogram.TailSize(1e6))
		r := newRecorder(rec, false)
		now := time.Now()
		tr := &Trace{Start: now, TTFB: 2 * time.Millisecond, First: now.Add(2 * time.Millisecond), End: now.Add(3 * time.Millisecond),
			Metrics: []Metric{{"db", 1500 * time.Microsecond}, {"queue", 100 * time.Microsecond}}}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tr.End = now.Add(time.Duration(i%5000) * time.Microsecond)
			r.record(tr, now)
		}
	})
}
