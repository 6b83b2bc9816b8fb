package embedded

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// withNetwork returns sc with network.tls and target.http2 set.
func withNetwork(sc *scenario.Scenario, version scenario.TLSVersion, http2 bool) *scenario.Scenario {
	sc.Network.TLS = version
	sc.Target.HTTP2 = http2
	return sc
}

// quick is a service that answers at once.
func quick() *scenario.Scenario { return newScenario(scenario.StreamNone, scenario.Service{}) }

// client returns an HTTP client over tr that the test cleans up after.
func client(t *testing.T, tr *http.Transport) *http.Client {
	t.Helper()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// fetch sends a GET to url and returns the response with its body read.
func fetch(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	return resp, nil
}

// versions are the TLS versions the service serves, each with the other one.
var versions = []struct {
	name      scenario.TLSVersion
	version   uint16
	other     uint16
	otherName string
}{
	{name: "1.2", version: tls.VersionTLS12, other: tls.VersionTLS13, otherName: "1.3"},
	{name: "1.3", version: tls.VersionTLS13, other: tls.VersionTLS12, otherName: "1.2"},
}

// TestTLSVersion checks that the server speaks exactly the pinned version,
// that ClientTLS verifies it without skipping verification, and that
// nothing else trusts it.
func TestTLSVersion(t *testing.T) {
	for _, v := range versions {
		t.Run(string(v.name), func(t *testing.T) {
			srv := startServer(t, withNetwork(quick(), v.name, false))
			if !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") {
				t.Errorf("URL() = %q, want https://127.0.0.1:PORT/", srv.URL())
			}

			cfg := srv.ClientTLS()
			if cfg == nil || cfg.InsecureSkipVerify {
				t.Fatalf("ClientTLS() = %+v, want a verifying config", cfg)
			}
			resp, err := fetch(t, client(t, &http.Transport{TLSClientConfig: cfg}), srv.URL())
			if err != nil {
				t.Fatalf("client with ClientTLS(): %v", err)
			}
			if resp.TLS == nil || resp.TLS.Version != v.version {
				t.Fatalf("TLS state %+v, want version %s", resp.TLS, tls.VersionName(v.version))
			}
			if len(resp.TLS.VerifiedChains) == 0 {
				t.Error("no verified chain: the certificate was not verified")
			}

			// A client that insists on the other version is refused by
			// the server with a protocol_version alert.
			other := srv.ClientTLS()
			other.MinVersion, other.MaxVersion = v.other, v.other
			_, err = fetch(t, client(t, &http.Transport{TLSClientConfig: other}), srv.URL())
			// crypto/tls does not export the type of a received alert.
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "remote error" || !strings.Contains(op.Err.Error(), "protocol version not supported") {
				t.Errorf("client pinned to TLS %s: err %v, want a protocol_version alert", v.otherName, err)
			}

			// The system roots do not know a certificate made at start.
			_, err = fetch(t, client(t, &http.Transport{TLSClientConfig: &tls.Config{}}), srv.URL())
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("client with system roots: err %v, want an unknown authority", err)
			}
		})
	}
}

// TestCertificateNames checks the names the certificate is valid for,
// dialing 127.0.0.1 and verifying against each name in turn.
func TestCertificateNames(t *testing.T) {
	srv := startServer(t, withNetwork(quick(), "1.3", false))
	tests := []struct {
		serverName string
		ok         bool
	}{
		{"", true}, // tls.Dialer takes the host of the address: 127.0.0.1
		{"127.0.0.1", true},
		{"::1", true},
		{"localhost", true},
		{"example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			cfg := srv.ClientTLS()
			cfg.ServerName = tt.serverName
			d := tls.Dialer{Config: cfg}
			conn, err := d.DialContext(t.Context(), "tcp", srv.Addr())
			if err == nil {
				conn.Close()
			}
			var hostErr x509.HostnameError
			switch {
			case tt.ok && err != nil:
				t.Errorf("handshake: %v", err)
			case !tt.ok && !errors.As(err, &hostErr):
				t.Errorf("handshake: err %v, want a hostname mismatch", err)
			}
		})
	}
}

// TestRootPEM checks that the PEM form is the root that verifies the
// server, and that a plain server has none.
func TestRootPEM(t *testing.T) {
	srv := startServer(t, withNetwork(quick(), "1.3", false))
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(srv.RootPEM()) {
		t.Fatalf("RootPEM() = %q, want a PEM certificate", srv.RootPEM())
	}
	block, _ := pem.Decode(srv.RootPEM())
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || !ca.MaxPathLenZero {
		t.Errorf("root IsCA=%v MaxPathLenZero=%v, want a CA that signs leaves only", ca.IsCA, ca.MaxPathLenZero)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	resp, err := fetch(t, client(t, tr), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if leaf.IsCA {
		t.Error("the server presents a CA certificate, want a leaf")
	}
	if validity := leaf.NotAfter.Sub(leaf.NotBefore); validity > certValidity+certBackdate {
		t.Errorf("leaf valid for %v, want at most %v", validity, certValidity+certBackdate)
	}

	plain := startServer(t, quick())
	if plain.ClientTLS() != nil || plain.RootPEM() != nil {
		t.Error("plain HTTP server has TLS credentials")
	}
}

// TestFullHandshake checks that a client that caches sessions still pays a
// full handshake on every new connection, and without a HelloRetryRequest
// (which would add a round trip). A control server with session tickets on
// shows the same client does resume when it can, so the check is not
// vacuous.
func TestFullHandshake(t *testing.T) {
	// twoConnections makes two requests, each on a new connection, with
	// one session cache, and returns both connection states.
	twoConnections := func(t *testing.T, url string, cfg *tls.Config) [2]*tls.ConnectionState {
		t.Helper()
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
		c := client(t, &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true})
		var states [2]*tls.ConnectionState
		for i := range states {
			// Reading the whole body also reads any session ticket the
			// server sent after the handshake.
			resp, err := fetch(t, c, url)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			states[i] = resp.TLS
		}
		return states
	}
	for _, v := range versions {
		t.Run(string(v.name), func(t *testing.T) {
			srv := startServer(t, withNetwork(quick(), v.name, false))
			for i, st := range twoConnections(t, srv.URL(), srv.ClientTLS()) {
				if st.DidResume {
					t.Errorf("connection %d resumed a session, want a full handshake", i)
				}
				if st.HelloRetryRequest {
					t.Errorf("connection %d needed a HelloRetryRequest, an extra round trip", i)
				}
			}

			control := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			control.TLS = serverTLS(v.version, srv.creds)
			control.TLS.SessionTicketsDisabled = false
			control.StartTLS()
			defer control.Close()
			if st := twoConnections(t, control.URL, srv.ClientTLS()); !st[1].DidResume {
				t.Error("control: second connection did not resume with tickets on; the check above proves nothing")
			}
		})
	}
}

// TestHTTP2 checks which protocol a client that would prefer HTTP/2 gets.
func TestHTTP2(t *testing.T) {
	for _, v := range versions {
		for _, h2 := range []bool{true, false} {
			name := string(v.name) + "/http2=" + map[bool]string{true: "true", false: "false"}[h2]
			t.Run(name, func(t *testing.T) {
				srv := startServer(t, withNetwork(quick(), v.name, h2))
				tr := &http.Transport{TLSClientConfig: srv.ClientTLS(), ForceAttemptHTTP2: true}
				resp, err := fetch(t, client(t, tr), srv.URL())
				if err != nil {
					t.Fatal(err)
				}
				wantMajor, wantALPN := 1, "http/1.1"
				if h2 {
					wantMajor, wantALPN = 2, "h2"
				}
				if resp.ProtoMajor != wantMajor || resp.TLS.NegotiatedProtocol != wantALPN {
					t.Errorf("got %s over ALPN %q, want HTTP/%d over %q",
						resp.Proto, resp.TLS.NegotiatedProtocol, wantMajor, wantALPN)
				}
			})
		}
	}
}

// TestH2C checks HTTP/2 with prior knowledge over plain TCP, and that
// HTTP/1.1 is still served beside it.
func TestH2C(t *testing.T) {
	h2cOnly := func() *http.Transport {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		return &http.Transport{Protocols: &p}
	}
	t.Run("http2=true", func(t *testing.T) {
		srv := startServer(t, withNetwork(quick(), "", true))
		if srv.ClientTLS() != nil {
			t.Error("ClientTLS() is not nil for plain HTTP")
		}
		resp, err := fetch(t, client(t, h2cOnly()), srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("h2c client got %s, want HTTP/2.0", resp.Proto)
		}
		resp, err = fetch(t, client(t, &http.Transport{}), srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Proto != "HTTP/1.1" {
			t.Errorf("HTTP/1.1 client got %s, want HTTP/1.1", resp.Proto)
		}
	})
	t.Run("http2=false", func(t *testing.T) {
		srv := startServer(t, withNetwork(quick(), "", false))
		if resp, err := fetch(t, client(t, h2cOnly()), srv.URL()); err == nil {
			t.Errorf("h2c client got %s, want a failure: h2c is off", resp.Proto)
		}
	})
}

// sseEvents sends one request and returns when each data event arrived,
// measured from just before the request was sent.
func sseEvents(t *testing.T, c *http.Client, url string) (proto string, at []time.Duration) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			at = append(at, time.Since(start))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return resp.Proto, at
}

// TestSSEOverHTTP2 checks that each event is flushed as it is made over h2
// (TLS) and h2c, not held until the stream ends.
func TestSSEOverHTTP2(t *testing.T) {
	const (
		ttft   = 20 * time.Millisecond
		itl    = 100 * time.Millisecond
		tokens = 2
		// A buffered stream fails every attempt; a client stalled long
		// enough to merge two events (see heldBack) hardly ever twice.
		attempts = 3
	)
	tests := []struct {
		name    string
		version scenario.TLSVersion
		tr      func(srv *Server) *http.Transport
	}{
		{"h2", "1.3", func(srv *Server) *http.Transport {
			return &http.Transport{TLSClientConfig: srv.ClientTLS(), ForceAttemptHTTP2: true}
		}},
		{"h2 on TLS 1.2", "1.2", func(srv *Server) *http.Transport {
			return &http.Transport{TLSClientConfig: srv.ClientTLS(), ForceAttemptHTTP2: true}
		}},
		{"h2c", "", func(*Server) *http.Transport {
			var p http.Protocols
			p.SetUnencryptedHTTP2(true)
			return &http.Transport{Protocols: &p}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("spaced", func(t *testing.T) {
				srv := startServer(t, withNetwork(newScenario(scenario.StreamSSE, scenario.Service{
					TTFT: fixed(ttft), Tokens: tokens, ITL: fixed(itl),
				}), tt.version, true))
				c := client(t, tt.tr(srv))
				var problem string
				for attempt := range attempts {
					proto, at := sseEvents(t, c, srv.URL())
					if proto != "HTTP/2.0" {
						t.Fatalf("served over %s, want HTTP/2.0", proto)
					}
					if len(at) != tokens+1 {
						t.Fatalf("%d events, want %d", len(at), tokens+1)
					}
					// Lower bounds hold exactly: no event can leave before
					// its delays have passed.
					for i, a := range at {
						if want := ttft + time.Duration(i)*itl; a < want {
							t.Errorf("event %d after %v, want ≥ %v", i, a, want)
						}
					}
					if problem = heldBack(at, itl/2); problem == "" {
						break
					}
					t.Logf("attempt %d: %s", attempt+1, problem)
				}
				if problem != "" {
					t.Errorf("%s in each of %d attempts: events are held back, not flushed one by one", problem, attempts)
				}
			})

			// With an hour to the next event, the first one can only
			// arrive if it was flushed on its own. No timing is asserted;
			// the timeout only keeps a failure from hanging the test.
			t.Run("first event alone", func(t *testing.T) {
				srv := startServer(t, withNetwork(newScenario(scenario.StreamSSE, scenario.Service{
					Tokens: tokens, ITL: fixed(time.Hour),
				}), tt.version, true))
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL(), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client(t, tt.tr(srv)).Do(req)
				if err != nil {
					t.Fatalf("no response while the next event is an hour away: %v", err)
				}
				defer resp.Body.Close()
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				if err != nil {
					t.Fatalf("first event never arrived: %v", err)
				}
				if want := "data: {\"token\":0}\n"; line != want {
					t.Errorf("first line %q, want %q", line, want)
				}
			})
		})
	}
}

// heldBack describes the first gap between event arrivals (at) shorter than
// least, or returns "". Events leave the server at least itl apart, but a
// client that reads one late sees the next gap shrink by as much, so least
// is below itl; a stream buffered to its end shows gaps of microseconds.
func heldBack(at []time.Duration, least time.Duration) string {
	for i := 1; i < len(at); i++ {
		if gap := at[i] - at[i-1]; gap < least {
			return fmt.Sprintf("event %d came %v after the one before, want ≥ %v", i, gap, least)
		}
	}
	return ""
}

// TestCloseTLS checks that Close returns without waiting out a long delay
// while TLS connections of every kind are open: mid-handshake, idle, and
// with requests in flight over HTTP/1.1 and h2.
func TestCloseTLS(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2"}[h2], func(t *testing.T) {
			srv, err := Start(t.Context(), withNetwork(newScenario(scenario.StreamSSE, scenario.Service{
				Workers: intp(1), Queue: intp(4), TTFT: fixed(time.Minute), Tokens: 2,
			}), "1.3", h2), "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()

			// Connected, never starting the handshake.
			var d net.Dialer
			raw, err := d.DialContext(t.Context(), "tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()

			tr := &http.Transport{TLSClientConfig: srv.ClientTLS(), ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			// Two requests: one holds the worker, one waits in the queue.
			errs := make(chan error, 2)
			for range 2 {
				go func() {
					resp, err := c.Get(srv.URL())
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err == nil {
							err = errors.New("got a whole response: " + resp.Status)
						}
					}
					errs <- err
				}()
			}
			g := srv.svc.gate
			waitFor(t, "one request to hold the worker and one to queue", func() bool {
				return g.busy() == 1 && g.waiting() == 1
			})

			closed := make(chan error, 1)
			go func() { closed <- srv.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(10 * time.Second): // the delay being cut short is a minute
				t.Fatal("Close did not return")
			}
			for range 2 {
				if err := <-errs; err == nil {
					t.Error("in-flight request succeeded, want a failure")
				}
			}
			if st := srv.Stats(); st.Canceled != 2 || st.Served != 0 {
				t.Errorf("Stats() = %+v, want 2 canceled", st)
			}
			// The half-open connection was closed too.
			_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := raw.Read(make([]byte, 1)); err == nil || isTimeout(err) {
				t.Errorf("raw connection read %d bytes, err %v: want it closed by the server", n, err)
			}
		})
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestStartUnsupportedTLS checks that an unvalidated scenario with a TLS
// version the service cannot serve is an error, not plain HTTP.
func TestStartUnsupportedTLS(t *testing.T) {
	_, err := Start(t.Context(), withNetwork(quick(), "1.1", false), "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), `"1.1"`) {
		t.Errorf("Start with tls 1.1: err %v, want one naming the version", err)
	}
}
