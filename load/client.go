package load

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// newTransport builds the HTTP transport under the tracing one: HTTP/1.1,
// or HTTP/2 when target.http2 asks (h2 over TLS, h2c by prior knowledge on
// plain http://), and the emulated network when network.emulate is on.
func newTransport(sc *scenario.Scenario, url string, given *tls.Config, maxConns int) *http.Transport {
	dial := (&net.Dialer{Timeout: sc.Target.Timeout.D(), KeepAlive: 30 * time.Second}).DialContext
	if sc.Network.Emulate && sc.Network.RTT != nil {
		dial = NewEmulator(sc.Network.RTT, sc.SeedValue()).Dialer(dial)
	}
	var protos http.Protocols
	switch {
	case !sc.Target.HTTP2:
		protos.SetHTTP1(true)
	case strings.HasPrefix(url, "https://"):
		protos.SetHTTP2(true)
	default:
		protos.SetUnencryptedHTTP2(true)
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dial,
		TLSClientConfig:     clientTLS(sc, given),
		MaxIdleConnsPerHost: maxConns,
		// A dial started for a request that then got a freed connection
		// completes anyway: without a bound, overload would open
		// connections (descriptors) beyond the workers that use them.
		MaxConnsPerHost: maxConns,
		IdleConnTimeout: 90 * time.Second,
		// The same bound on a response head as tailgate's own connections.
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		Protocols:              &protos,
		// A compressed body would make byte timings depend on gzip, not the service.
		DisableCompression: true,
	}
}

// clientTLS verifies certificates unless target.insecure says otherwise.
// given (the embedded service's) adds a root that trusts its certificate.
func clientTLS(sc *scenario.Scenario, given *tls.Config) *tls.Config {
	cfg := &tls.Config{}
	if given != nil {
		cfg = given.Clone()
	}
	cfg.InsecureSkipVerify = cfg.InsecureSkipVerify || sc.Target.Insecure
	return cfg
}
