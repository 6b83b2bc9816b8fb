package load

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// startNodeServer starts testdata/keepalive_server.js, a stock Node.js HTTP
// server that closes connections idle longer than keepAlive, and returns
// its URL. The test skips when node is not installed.
func startNodeServer(t *testing.T, keepAlive time.Duration) string {
	t.Helper()
	stdout, _ := startScript(t, "node", "testdata/keepalive_server.js", strconv.FormatInt(keepAlive.Milliseconds(), 10))
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Scan()
		port <- strings.TrimSpace(sc.Text())
	}()
	select {
	case p := <-port:
		if p == "" {
			t.Fatal("keepalive_server.js printed no port")
		}
		return "http://127.0.0.1:" + p + "/"
	case <-time.After(10 * time.Second):
		t.Fatal("keepalive_server.js did not start")
	}
	return ""
}

// POSTs with a body, with a pause longer than a stock Node.js server's
// keep-alive timeout between them: the server closes the connection while
// it is idle, and neither engine may count the next POST as a failure (as
// net/http does not: it notices the close before reusing the connection).
// Node checks its keep-alive timeout about once a second, so a 300 ms
// timeout closes the connection within a 2 s pause.
func TestNodeIdleCloseWithPOSTs(t *testing.T) {
	url := startNodeServer(t, 300*time.Millisecond)
	y := "target: {url: \"" + url + "\", method: POST, body: '{\"n\":1}', headers: {Content-Type: application/json}}\n" +
		"traffic:\n" +
		"  - constant: {rate: 20/s, duration: 500ms}\n" +
		"  - pause: {duration: 2s}\n" +
		"  - constant: {rate: 20/s, duration: 500ms}\n" +
		"budget: {total: {p99: 1s}, errors: 0%}\n"
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			sc, err := scenario.Parse("node.yaml", []byte(y))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Run(context.Background(), on(sc, engine), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Rec.Counts
			if c.Sent != out.Planned || c.OK != out.Planned || c.Errors != 0 {
				t.Errorf("%d sent, %d ok, %d errors %v of %d planned: want every POST answered", c.Sent, c.OK, c.Errors, c.ByClass, out.Planned)
			}
			// The premise: the server did close the idle connection.
			if c.NewConnections < 2 {
				t.Errorf("%d new connections: the server never closed the idle one, the test proves nothing", c.NewConnections)
			}
		})
	}
}
