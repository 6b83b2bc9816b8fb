package load

import "testing"

func TestWorkerCap(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		want  int
	}{
		{0, 0},      // unknown: no cap
		{1024, 448}, // (1024 − 128) / 2
		{1 << 20, 524224},
		{256, 64}, // tiny limits keep a quarter
		{3, 1},
	} {
		if got := workerCap(tc.limit); got != tc.want {
			t.Errorf("workerCap(%d) = %d, want %d", tc.limit, got, tc.want)
		}
	}
}

// The soft limit is raised to the hard one, and a run's workers stay below
// it with room for the embedded service's end of every connection.
func TestFileLimit(t *testing.T) {
	lim := fileLimit()
	if lim == 0 {
		t.Skip("no open-file limit on this system")
	}
	if lim < 64 {
		t.Errorf("fileLimit() = %d, want the hard limit", lim)
	}
	if c := workerCap(lim); 2*c+fdReserve > int(lim) && lim > 2*fdReserve {
		t.Errorf("workerCap(%d) = %d leaves no room for two descriptors a worker and %d more", lim, c, fdReserve)
	}
}
