// Command bareloop is the ceiling for any Go HTTP client on this machine: a
// closed loop of GET requests through one bare net/http Transport, with no
// pacing, tracing or recording. Each of -c goroutines sends a request, reads
// the body to the end and sends the next, for -d after a warm-up. It prints
// one JSON line:
//
//	{"concurrency":64,"requests":1234567,"errors":0,"seconds":10,"rate":123456.7}
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/", "target URL")
	c := flag.Int("c", 64, "concurrent requests (and connections)")
	d := flag.Duration("d", 10*time.Second, "how long to measure")
	warmup := flag.Duration("warmup", time.Second, "how long to send before measuring, to open connections")
	flag.Parse()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c, DisableCompression: true}}
	// One counter a goroutine, each on its own cache line: no sharing.
	type count struct {
		ok, errors int64
		_          [48]byte
	}
	counts := make([]count, *c)
	began := time.Now().Add(*warmup)
	ended := began.Add(*d)
	var wg sync.WaitGroup
	for i := range *c {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", *url, nil)
			for {
				now := time.Now()
				if !now.Before(ended) {
					return
				}
				counting := !now.Before(began)
				res, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				switch {
				case !counting:
				case err != nil || res.StatusCode != http.StatusOK:
					counts[i].errors++
				default:
					counts[i].ok++
				}
			}
		})
	}
	wg.Wait()
	var ok, errs int64
	for _, n := range counts {
		ok += n.ok
		errs += n.errors
	}
	secs := d.Seconds()
	out := map[string]any{"concurrency": *c, "requests": ok, "errors": errs, "seconds": secs, "rate": float64(ok) / secs}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
