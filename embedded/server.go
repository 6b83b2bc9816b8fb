package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// Server is a Service listening on a TCP address.
type Server struct {
	svc    *Service
	http   *http.Server
	ln     net.Listener
	url    string
	creds  *credentials       // nil when serving plain HTTP
	cancel context.CancelFunc // ends every handler's context
	stop   func() bool        // unhooks Close from the Start context

	served   chan struct{} // closed when http.Server.Serve has returned
	serveErr error         // what Serve returned; read after served is closed

	mu       sync.Mutex
	closing  bool           // no new handler may start
	handlers sync.WaitGroup // handlers running; Add only under mu while !closing

	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed when Close has finished
}

// Start listens on addr ("127.0.0.1:0" for an ephemeral port) and serves sc's
// service until ctx ends or Close is called.
//
// When sc.Network.TLS is "1.2" or "1.3" it serves HTTPS of exactly that
// version, with a certificate made now that ClientTLS trusts, and URL starts
// with https://. When sc.Target.HTTP2 is true it also speaks HTTP/2: h2 by
// ALPN over TLS, h2c with prior knowledge over plain TCP. Otherwise it
// speaks HTTP/1.1 only, so a client that would prefer HTTP/2 gets HTTP/1.1.
func Start(ctx context.Context, sc *scenario.Scenario, addr string) (*Server, error) {
	version, err := tlsVersion(sc.Network.TLS)
	if err != nil {
		return nil, fmt.Errorf("embedded service: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded service: listen on %s: %w", addr, err)
	}
	o := options{http2: sc.Target.HTTP2, tlsVersion: version}
	if version != 0 {
		o.creds, err = newCredentials(ln.Addr(), time.Now())
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("embedded service: make a TLS certificate: %w", err)
		}
	}
	return serve(ctx, New(sc), ln, o), nil
}

// options say which protocols serve speaks.
type options struct {
	http2      bool         // h2 over TLS, h2c over plain TCP, besides HTTP/1.1
	tlsVersion uint16       // tls.VersionTLS12 or 13; 0 for plain HTTP
	creds      *credentials // required when tlsVersion is set
}

// serve runs svc on ln until ctx ends or Close is called.
func serve(ctx context.Context, svc *Service, ln net.Listener, o options) *Server {
	scheme := "http"
	if o.tlsVersion != 0 {
		scheme = "https"
	}
	// Handler contexts keep ctx's values but not its cancellation: Close
	// must close connections before handlers wake, or a handler that has
	// written nothing yet would end as an empty 200 instead of a failed
	// request.
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{
		svc:    svc,
		ln:     ln,
		url:    scheme + "://" + dialAddr(ln.Addr()) + "/",
		creds:  o.creds,
		cancel: cancel,
		served: make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.handle),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second, // a stalled client must not hold a connection forever
		// Clients that hang up mid-handshake are the load generator's business
		// (it counts them); the service must not print over the verdict table.
		ErrorLog:  log.New(io.Discard, "", 0),
		Protocols: protocols(o),
		HTTP2: &http.HTTP2Config{
			// HTTP/2's default of 250 streams per connection is below the
			// default workers + queue (32 + 256). A lower limit would make
			// the client hold back requests the service should queue or
			// shed itself, hiding the queueing the scenario models.
			MaxConcurrentStreams: min(max(250, svc.gate.workers+svc.gate.limit+1), 1<<20),
		},
	}
	if o.tlsVersion != 0 {
		s.http.TLSConfig = serverTLS(o.tlsVersion, o.creds)
	}
	go func() {
		defer close(s.served)
		var err error
		if o.tlsVersion != 0 {
			// The certificate is in TLSConfig; ServeTLS also sets ALPN
			// (h2, http/1.1) from Protocols.
			err = s.http.ServeTLS(ln, "", "")
		} else {
			err = s.http.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s
}

// protocols is what the server speaks: HTTP/1.1 always, and with o.http2
// HTTP/2 as well (h2 over TLS, h2c with prior knowledge in plain). Setting it
// explicitly matters when o.http2 is false: net/http would otherwise offer
// h2 over TLS by default and silently upgrade a test of HTTP/1.1 connection
// behaviour.
func protocols(o options) *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	if o.http2 {
		if o.tlsVersion != 0 {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
		}
	}
	return &p
}

// handle runs the service for one request and tracks it, so that Close can
// wait for every handler to finish.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		// The connection is being closed; abort rather than answer.
		panic(http.ErrAbortHandler)
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()
	s.svc.ServeHTTP(w, r)
}

// URL is the address requests go to, e.g. "http://127.0.0.1:40123/", or
// "https://…" when serving TLS. When listening on all interfaces it names the
// loopback address.
func (s *Server) URL() string { return s.url }

// Addr is the address the server listens on, e.g. "127.0.0.1:40123".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stats returns the service's counters so far.
func (s *Server) Stats() Stats { return s.svc.Stats() }

// Done is closed once the server has stopped: Close was called or the
// Start context ended, and every handler has returned.
func (s *Server) Done() <-chan struct{} { return s.done }

// Close stops listening, closes every connection, wakes handlers sleeping a
// simulated delay, and returns once all of them have returned. Clients with
// requests in flight see a failed request, never a truncated success. It is
// safe to call more than once; later calls wait for the first.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		// Connections first, so that handlers woken next write into closed
		// connections rather than finishing responses.
		err := s.http.Close()
		s.cancel()
		s.handlers.Wait()
		<-s.served
		s.closeErr = errors.Join(err, s.serveErr)
		close(s.done)
	})
	<-s.done
	return s.closeErr
}

// dialAddr turns a listening address into one a client can dial: an
// unspecified host (":8080", "[::]:8080") becomes the loopback address.
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
