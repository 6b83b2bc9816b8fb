package schedule_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// shardPlans are plans to split: every shape of DESIGN.md, and random
// segments of many blocks between deterministic ones.
func shardPlans() map[string]*schedule.Schedule {
	traffic, _ := designTraffic()
	return map[string]*schedule.Schedule{
		"design":        schedule.New(traffic, 7),
		"random access": randomAccessPlan(),
		"gamma only":    schedule.New([]scenario.Segment{{Gamma: &scenario.Gamma{Rate: 3000, Burstiness: 0.3, Duration: secs(2)}}}, 11),
		"empty":         schedule.New(nil, 1),
	}
}

// checkShards splits s into n and checks that the shards are the plan dealt
// out: shard i's request k is the plan's request i + k·n at the same time,
// the counts differ by at most one, and the union is the plan exactly.
func checkShards(t *testing.T, s *schedule.Schedule, full []time.Duration, n int) {
	t.Helper()
	var union []time.Duration
	var sum int64
	counts := make([]int64, n)
	for i := range n {
		sh := s.Shard(i, n)
		times := allTimes(sh)
		counts[i] = sh.Requests()
		sum += counts[i]
		if sh.Duration() != s.Duration() {
			t.Errorf("shard %d/%d lasts %v, the plan %v", i, n, sh.Duration(), s.Duration())
		}
		for k, at := range times {
			if j := i + k*n; j >= len(full) || at != full[j] {
				t.Fatalf("shard %d/%d request %d at %v, want the plan's request %d", i, n, k, at, j)
			}
		}
		// The count is every index ≡ i (mod n) below the plan's total.
		if want := (int64(len(full)) - int64(i) + int64(n) - 1) / int64(n); counts[i] != max(want, 0) {
			t.Errorf("shard %d/%d has %d requests, want %d", i, n, counts[i], want)
		}
		union = append(union, times...)
	}
	if sum != int64(len(full)) {
		t.Errorf("%d shards hold %d requests, the plan %d", n, sum, len(full))
	}
	if lo, hi := slices.Min(counts), slices.Max(counts); hi-lo > 1 {
		t.Errorf("%d shards hold %d to %d requests: want counts within one", n, lo, hi)
	}
	slices.Sort(union)
	if !slices.Equal(union, full) {
		t.Errorf("%d shards together are not the plan", n)
	}
}

func TestShardsAreThePlanDealtOut(t *testing.T) {
	for name, s := range shardPlans() {
		full := allTimes(s)
		// 300 is more shards than a block of random arrivals holds.
		for _, n := range []int{1, 2, 3, 7, 300} {
			t.Run(fmt.Sprintf("%s/n=%d", name, n), func(t *testing.T) { checkShards(t, s, full, n) })
		}
	}
}

func TestShardOfOne(t *testing.T) {
	s := randomAccessPlan()
	if s.Shard(0, 1) != s {
		t.Errorf("Shard(0, 1) is a new schedule, want the plan itself")
	}
}

// A shard of a shard deals out the shard: shard 1/2 of shard 2/3 is the
// plan's requests 2+3·(1+2k) = 5, 11, 17, …
func TestShardOfShard(t *testing.T) {
	s := randomAccessPlan()
	full := allTimes(s)
	got := allTimes(s.Shard(2, 3).Shard(1, 2))
	for k, at := range got {
		if j := 2 + 3*(1+2*k); at != full[j] {
			t.Fatalf("request %d at %v, want the plan's request %d at %v", k, at, j, full[j])
		}
	}
	if want := (len(full) - 5 + 5) / 6; len(got) != want {
		t.Errorf("%d requests, want %d", len(got), want)
	}
}

// A shard's rates are its share: 1/n of the plan's, so progress and the
// report's planned rate describe what this process sends.
func TestShardRates(t *testing.T) {
	traffic, _ := designTraffic()
	s := schedule.New(traffic, 7)
	const n = 4
	var mean float64
	for i := range n {
		sh := s.Shard(i, n)
		mean += sh.MeanRate()
		if got, want := sh.PeakRate(), s.PeakRate()/n; math.Abs(got-want) > 1e-9 {
			t.Errorf("shard %d: PeakRate %v, want %v", i, got, want)
		}
		for d := time.Duration(0); d < s.Duration(); d += 700 * time.Millisecond {
			if got, want := sh.Rate(d), s.Rate(d)/n; math.Abs(got-want) > 1e-9 {
				t.Fatalf("shard %d: Rate(%v) = %v, want %v", i, d, got, want)
			}
		}
		segs, whole := sh.Segments(), s.Segments()
		for j := range segs {
			if segs[j].Start != whole[j].Start || segs[j].Duration != whole[j].Duration || segs[j].Kind != whole[j].Kind {
				t.Errorf("shard %d segment %d = %+v, want the plan's place %+v", i, j, segs[j], whole[j])
			}
			if d := segs[j].Requests - whole[j].Requests/n; d < 0 || d > 1 {
				t.Errorf("shard %d segment %d: %d requests of the plan's %d", i, j, segs[j].Requests, whole[j].Requests)
			}
		}
	}
	if math.Abs(mean-s.MeanRate()) > 1e-9 {
		t.Errorf("shards' mean rates add up to %v, the plan's is %v", mean, s.MeanRate())
	}
}

// A shard's pacer releases the shard's requests at their planned times,
// stops after its last, and allocates nothing.
func TestShardPacer(t *testing.T) {
	traffic, _ := designTraffic()
	s := schedule.New(traffic, 7)
	for i := range 3 {
		sh := s.Shard(i, 3)
		simulatePacer(t, sh, func(uint64) time.Duration { return 0 })
		simulatePacer(t, sh, func(h uint64) time.Duration { return time.Duration(h%7) * time.Millisecond })
	}
	for _, tc := range benchPlans(100) {
		sh := schedule.New([]scenario.Segment{tc.seg}, 1).Shard(1, 3)
		if a := paceAllocs(sh); a != 0 {
			t.Errorf("%s: a shard's Pace allocates %v times a call, want 0", tc.name, a)
		}
	}
}

func TestShardOutOfRangePanics(t *testing.T) {
	s := randomAccessPlan()
	for _, tc := range [][2]int{{0, 0}, {-1, 3}, {3, 3}, {4, 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Shard(%d, %d) did not panic", tc[0], tc[1])
				}
			}()
			s.Shard(tc[0], tc[1])
		}()
	}
}

// FuzzShard splits plans of fuzzed segments (see FuzzSchedule) into fuzzed
// numbers of shards: the union is always the plan.
func FuzzShard(f *testing.F) {
	f.Add(uint64(1), []byte{0, 6, 7}, 20.0, 80.0, 1.0, uint64(10e9), uint64(5e9), uint64(5e8), uint8(3))
	f.Add(uint64(2), []byte{7, 8, 6}, 50.0, 30.0, 0.3, uint64(2e9), uint64(1e9), uint64(1e8), uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, kinds []byte, r1, r2, k float64, d1, d2, d3 uint64, n uint8) {
		if len(kinds) > 4 {
			kinds = kinds[:4]
		}
		var traffic []scenario.Segment
		for _, kind := range kinds {
			seg, _ := fuzzSegment(kind, r1, r2, k, d1, d2, d3)
			traffic = append(traffic, seg)
		}
		s := schedule.New(traffic, seed)
		checkShards(t, s, allTimes(s), int(n%16)+1)
	})
}

func BenchmarkShardPace(b *testing.B) {
	for _, tc := range benchPlans(1000) {
		b.Run(tc.name, func(b *testing.B) {
			s := schedule.New([]scenario.Segment{tc.seg}, 1).Shard(1, 4)
			p := s.Pacer()
			n := uint64(s.Requests())
			var elapsed time.Duration
			var hits uint64
			b.ReportAllocs()
			for b.Loop() {
				wait, stop := p.Pace(elapsed, hits)
				elapsed += wait
				hits++
				if stop || hits == n {
					elapsed, hits = 0, 0
				}
			}
		})
	}
}

// A shard of a schedule says which it is; the whole plan is 0 of 1.
func TestShardOf(t *testing.T) {
	full := shardPlans()["design"]
	if i, n := full.ShardOf(); i != 0 || n != 1 {
		t.Errorf("whole plan: %d/%d, want 0/1", i, n)
	}
	for _, tc := range [][2]int{{0, 1}, {0, 3}, {2, 3}, {6, 7}} {
		if i, n := full.Shard(tc[0], tc[1]).ShardOf(); i != tc[0] || n != tc[1] {
			t.Errorf("Shard(%d, %d).ShardOf() = %d, %d", tc[0], tc[1], i, n)
		}
	}
}
