package scenario

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

const setBase = `name: what-if
target: {url: embedded}
network:
  distance: 4000km
traffic:
  - constant: {rate: 20/s, duration: 10s}
service:
  workers: 16
  database: {p50: 8ms, p99: 60ms}
budget:
  total: {p95: 1s, p99: 2s}
`

func TestParseOverride(t *testing.T) {
	cases := []struct {
		in   string
		want Override
		err  string
	}{
		{in: "service.workers=32", want: Override{"service.workers", "32"}},
		{in: "network.rtt={p50: 20ms, p99: 35ms}", want: Override{"network.rtt", "{p50: 20ms, p99: 35ms}"}},
		{in: "target.body=a=b", want: Override{"target.body", "a=b"}},
		{in: `target.headers."X.Y"=1`, want: Override{`target.headers."X.Y"`, "1"}},
		{in: "traffic[0].constant.rate=50/s", want: Override{"traffic[0].constant.rate", "50/s"}},
		{in: "target.body=", want: Override{"target.body", ""}},
		{in: "service.workers", err: "want path=value"},
		{in: "=3", err: "want path=value"},
		{in: "traffic[x].constant.rate=1/s", err: "[x] is not an index"},
		{in: "[0]=1", err: "starts with an index"},
		{in: "a..b=1", err: "empty key"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseOverride(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func overrides(t *testing.T, sets ...string) []Override {
	t.Helper()
	var out []Override
	for _, s := range sets {
		o, err := ParseOverride(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// TestOverridesApply sets keys that the file gives, keys it leaves out under
// a mapping it has, and whole mappings it does not have; each must decode as
// if the file said so.
func TestOverridesApply(t *testing.T) {
	cases := []struct {
		set   string
		check func(*Scenario) bool
	}{
		{"network.distance=800km", func(s *Scenario) bool { return s.Network.Distance == 800 }},
		{"service.workers=32", func(s *Scenario) bool { return s.Service.WorkersValue() == 32 }},
		{"service.queue=8", func(s *Scenario) bool { return s.Service.QueueValue() == 8 }},
		{"network.rtt={p50: 20ms, p99: 35ms}", func(s *Scenario) bool {
			return s.Network.RTT != nil && s.Network.RTT.P50.D() == 20*time.Millisecond
		}},
		{"network.rtt.fixed=5ms", func(s *Scenario) bool { return s.Network.RTT.Quantile(0.99) == 5*time.Millisecond }},
		{"network.tls=1.2", func(s *Scenario) bool { return s.Network.TLS == "1.2" }},
		{"traffic[0].constant.rate=50/s", func(s *Scenario) bool { return s.Traffic[0].Constant.Rate == 50 }},
		{"traffic[1]={pause: {duration: 1s}}", func(s *Scenario) bool { return len(s.Traffic) == 2 && s.Traffic[1].Pause != nil }},
		{"budget.total.p99=3s", func(s *Scenario) bool {
			l := s.Budget.Lines[0]
			return l.Name == "total" && l.Percentiles[1].Limit.D() == 3*time.Second && l.Percentiles[0].Limit.D() == time.Second
		}},
		{"budget.errors=5%", func(s *Scenario) bool { return s.Budget.Errors != nil && *s.Budget.Errors == 0.05 }},
		{"budget.cache={p99: 5ms, source: server-timing:cache}", func(s *Scenario) bool {
			return len(s.Budget.Lines) == 2 && s.Budget.Lines[1].Source == "server-timing:cache"
		}},
		// Text keys take the value as written: a JSON body is not a mapping.
		{`target.body={"a":1}`, func(s *Scenario) bool { return s.Target.Body == `{"a":1}` && s.Target.Method == "POST" }},
		{"target.headers.X-Trace=a: b", func(s *Scenario) bool { return s.Target.Headers["X-Trace"] == "a: b" }},
		{"name='quoted'", func(s *Scenario) bool { return s.Name == "quoted" }},
		{"seed=9", func(s *Scenario) bool { return s.SeedValue() == 9 }},
	}
	for _, c := range cases {
		t.Run(c.set, func(t *testing.T) {
			sc, err := ParseWith("s.yaml", []byte(setBase), overrides(t, c.set))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(sc) {
				t.Errorf("--set %s did not take: %+v", c.set, sc)
			}
			if sc.File != "s.yaml" {
				t.Errorf("File %q", sc.File)
			}
		})
	}
}

// TestOverridesLater wins: two overrides of one key apply in order.
func TestOverridesInOrder(t *testing.T) {
	sc, err := ParseWith("s.yaml", []byte(setBase), overrides(t, "service.workers=2", "service.workers=3"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Service.WorkersValue() != 3 {
		t.Errorf("workers %d, want the last override's 3", sc.Service.WorkersValue())
	}
}

// TestOverrideErrors: what an override breaks is reported against the flag,
// with the same message the file would get.
func TestOverrideErrors(t *testing.T) {
	cases := []struct {
		sets []string
		want string
	}{
		{[]string{"service.workers=-1"}, "--set service.workers=-1: service.workers: -1 must be between 1 and 1000000"},
		{[]string{"service.wrkers=3"}, `--set service.wrkers=3: service.wrkers: unknown key "wrkers"; did you mean workers?`},
		{[]string{"network.distance=far"}, `--set network.distance=far: network.distance: "far": unit "far" must be km, m or mi`},
		{[]string{"traffic[3].constant.rate=1/s"}, "--set traffic[3].constant.rate=1/s: traffic[3].constant.rate: traffic has 1 items: [3] is beyond the end (use [1] to add one)"},
		{[]string{"traffic.rate=1/s"}, "traffic is a list: index it, e.g. traffic[0].rate"},
		{[]string{"seed.x=1"}, "seed is 7, not a mapping"},
		{[]string{"network.rtt={p50: 1ms"}, "is not valid YAML"},
		{[]string{"network.rtt={p50: 30ms, p99: 20ms}"}, "network.rtt.p99: 20ms is below p50 (30ms)"},
		// The peak is blamed on the override of the same segment.
		{[]string{"service.workers=4", "traffic[0]={burst: {rate: 50/s, peak: 40/s, every: 1s, lasting: 100ms, duration: 2s}}"},
			"--set traffic[0]={burst: {rate: 50/s, peak: 40/s, every: 1s, lasting: 100ms, duration: 2s}}: traffic[0].burst.peak: 40/s must be above rate (50/s)"},
		{[]string{"budget.total.p99=0s"}, "--set budget.total.p99=0s: budget.total.p99: p99 limit must be above zero"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.sets, " "), func(t *testing.T) {
			base := setBase
			if strings.HasPrefix(c.sets[0], "seed") {
				base += "seed: 7\n"
			}
			_, err := ParseWith("s.yaml", []byte(base), overrides(t, c.sets...))
			var oe *OverrideError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T), want an *OverrideError", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, c.want)
			}
		})
	}
}

// TestOverridesAndFileProblems: the file's own problems keep their place in
// the file, and an override may fix one.
func TestOverridesAndFileProblems(t *testing.T) {
	bad := strings.Replace(setBase, "workers: 16", "workers: 0", 1)
	_, err := ParseWith("s.yaml", []byte(bad), overrides(t, "network.distance=800km"))
	var fe *Error
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "s.yaml:8:12: service.workers: 0 must be between 1") {
		t.Fatalf("error %v, want the file's own problem at its place", err)
	}
	sc, err := ParseWith("s.yaml", []byte(bad), overrides(t, "service.workers=4"))
	if err != nil || sc.Service.WorkersValue() != 4 {
		t.Fatalf("an override that fixes the file: %v", err)
	}
	// A file that is not YAML is reported as such, overrides or not.
	_, err = ParseWith("s.yaml", []byte("target: [\n"), overrides(t, "seed=1"))
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want the file's syntax error", err)
	}
}

// TestOverridesLeaveFileAlone: with no overrides ParseWith is Parse.
func TestOverridesNone(t *testing.T) {
	a, err := ParseWith("s.yaml", []byte(setBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse("s.yaml", []byte(setBase))
	if a.Name != b.Name || a.Service.WorkersValue() != b.Service.WorkersValue() || len(a.Budget.Lines) != len(b.Budget.Lines) {
		t.Errorf("ParseWith without overrides differs from Parse")
	}
}

func TestScaleRates(t *testing.T) {
	y := `target: {url: embedded}
seed: 3
traffic:
  - constant: {rate: 20/s, duration: 5s}
  - ramp: {from: 10/s, to: 30/s, duration: 4s}
  - step: {from: 10/s, to: 40/s, steps: 4, duration: 4s}
  - burst: {rate: 10/s, peak: 100/s, every: 2s, lasting: 200ms, duration: 4s}
  - sine: {mean: 20/s, amplitude: 10/s, period: 2s, duration: 4s}
  - onoff: {rate: 50/s, on: 1s, off: 1s, duration: 4s}
  - poisson: {rate: 20/s, duration: 5s}
  - gamma: {rate: 20/s, burstiness: 0.5, duration: 5s}
  - pause: {duration: 1s}
budget: {total: {p99: 1s}}
`
	sc, err := Parse("s.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{0.5, 2, 10} {
		got, err := sc.ScaleRates(f)
		if err != nil {
			t.Fatal(err)
		}
		// Every segment keeps its duration and carries f times its peak and
		// its expected requests.
		for i, g := range got.Traffic {
			base := sc.Traffic[i]
			if g.Duration() != base.Duration() {
				t.Errorf("×%v: %s lasts %v, want %v", f, g.Kind(), g.Duration(), base.Duration())
			}
			if p, want := g.PeakRate(), f*base.PeakRate(); math.Abs(p-want) > 1e-9*want {
				t.Errorf("×%v: %s peak %v, want %v", f, g.Kind(), p, want)
			}
			if n, want := g.ExpectedRequests(), f*base.ExpectedRequests(); math.Abs(n-want) > 1e-9*want {
				t.Errorf("×%v: %s expects %v requests, want %v", f, g.Kind(), n, want)
			}
		}
	}
	// The scenario it came from is untouched.
	if sc.Traffic[0].Constant.Rate != 20 {
		t.Errorf("ScaleRates changed the original")
	}
	if _, err := sc.ScaleRates(0); err == nil {
		t.Error("scale 0 accepted")
	}
	if _, err := sc.ScaleRates(1e6); err == nil || !strings.Contains(err.Error(), "above the limit") {
		t.Errorf("scale 1e6 (a 100M/s peak): %v", err)
	}
	if _, err := sc.ScaleRates(1e-6); err == nil || !strings.Contains(err.Error(), "plan sends no request") {
		t.Errorf("scale 1e-6: %v", err)
	}
}

func TestScaleDuration(t *testing.T) {
	y := `target: {url: embedded}
traffic:
  - constant: {rate: 20/s, duration: 6s}
  - burst: {rate: 10/s, peak: 100/s, every: 1s, lasting: 200ms, duration: 3s}
  - pause: {duration: 1s}
budget: {total: {p99: 1s}}
`
	sc, err := Parse("s.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	got, err := sc.ScaleDuration(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	segs := got.Traffic
	// 6:3:1 of 5s is 3s, 1.5s, 0.5s; the burst keeps its 1s period.
	if segs[0].Duration() != 3*time.Second || segs[1].Duration() != 1500*time.Millisecond || segs[2].Duration() != 500*time.Millisecond {
		t.Errorf("segments last %v, %v, %v", segs[0].Duration(), segs[1].Duration(), segs[2].Duration())
	}
	if segs[1].Burst.Every.D() != time.Second || segs[0].ExpectedRequests() != 60 {
		t.Errorf("periods or rates changed: %+v, %v requests", segs[1].Burst, segs[0].ExpectedRequests())
	}
	if _, err := sc.ScaleDuration(time.Microsecond); err == nil {
		t.Error("a 1µs plan accepted")
	}
}

// FuzzOverride: any --set text either is refused with an error or applies
// to a valid scenario with a valid scenario or an error as the result —
// never a panic, and an accepted override prints back as it was written.
func FuzzOverride(f *testing.F) {
	for _, s := range []string{
		"service.workers=32", "network.rtt={p50: 20ms, p99: 35ms}", "traffic[0].constant.rate=50/s",
		"traffic[1]={pause: {duration: 1s}}", "budget.total.p99=2s", `target.headers."X.Y"=1`,
		"target.body=", "a..b=1", "[0]=1", "traffic[x]=1", "seed=&a 1", "name=!!str x", "service=[1, 2]",
		"traffic[0]=null", "budget=", "network.rtt.p50.x=1", "target.headers.X=a: b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOverride(s)
		if err != nil {
			return
		}
		if o.String() != strings.TrimSpace(o.Path)+"="+o.Value {
			t.Fatalf("%q prints back as %q", s, o.String())
		}
		sc, err := ParseWith("s.yaml", []byte(setBase), []Override{o})
		if err == nil && sc == nil {
			t.Fatal("no scenario and no error")
		}
		var oe *OverrideError
		var fe *Error
		if err != nil && !errors.As(err, &oe) && !errors.As(err, &fe) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
