package target

import (
	"context"
	"errors"
	"fmt"
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
func Start(ctx context.Context, sc *scenario.Scenario, addr string) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded service: listen on %s: %w", addr, err)
	}
	// TLS and HTTP/2 will wrap ln (tls.NewListener) and set the scheme here;
	// everything below serves whatever listener it is given.
	return serve(ctx, New(sc), ln, "http"), nil
}

// serve runs svc on ln until ctx ends or Close is called.
func serve(ctx context.Context, svc *Service, ln net.Listener, scheme string) *Server {
	// Handler contexts keep ctx's values but not its cancellation: Close
	// must close connections before handlers wake, or a handler that has
	// written nothing yet would end as an empty 200 instead of a failed
	// request.
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{
		svc:    svc,
		ln:     ln,
		url:    scheme + "://" + dialAddr(ln.Addr()) + "/",
		cancel: cancel,
		served: make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.handle),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second, // a stalled client must not hold a connection forever
	}
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s
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

// URL is the address requests go to, e.g. "http://127.0.0.1:40123/". When
// listening on all interfaces it names the loopback address.
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
