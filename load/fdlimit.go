package load

// fdReserve is the file descriptors kept back from workers: the binary, the
// interval log and artifacts, DNS, the embedded service's listener, dials
// that outlive the request that started them.
const fdReserve = 128

// workerCap bounds workers by the open-file limit: each worker holds up to
// one connection, and when the target is the embedded service its end of
// the connection is a descriptor of this process too, so two a worker. A
// run that opened more would fail with "too many open files" mid-run, an
// error of the generator reported as the target's. 0 means no limit known.
func workerCap(limit uint64) int {
	if limit == 0 {
		return 0
	}
	if limit <= 2*fdReserve {
		return max(int(limit/4), 1)
	}
	return int(min((limit-fdReserve)/2, 1<<30))
}
