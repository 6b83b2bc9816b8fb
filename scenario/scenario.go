// Package scenario owns the YAML scenario: its types, strict decoding with
// file:line:col errors, validation, ${VAR} expansion, and the traffic schedule.
package scenario

import (
	"fmt"
	"time"
)

// Scenario is one decoded and validated scenario file.
type Scenario struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Seed        *uint64 `yaml:"seed"`
	// Engine says who sends the requests: vegeta (default) or native.
	Engine Engine `yaml:"engine"`

	Target  Target    `yaml:"target"`
	Network Network   `yaml:"network"`
	Traffic []Segment `yaml:"traffic"`
	Service Service   `yaml:"service"`
	Budget  Budget    `yaml:"budget"`

	// File is the path the scenario was read from ("" when decoded from bytes).
	File string `yaml:"-"`
	// Secrets holds every value that came from a ${VAR}, so that renderers
	// can mask them. It is never serialized.
	Secrets []string `yaml:"-"`
}

// SeedValue returns the scenario's seed, 1 when none is given, so that two
// runs of the same file are repeatable by default.
func (s *Scenario) SeedValue() uint64 {
	if s.Seed == nil {
		return 1
	}
	return *s.Seed
}

// Engine is the load generator that sends a run's requests. Both record
// through the same tracing round trip, so they measure the same phases.
type Engine string

// Engines a scenario can name.
const (
	// EngineVegeta is vegeta's Attacker, paced by the schedule: the default.
	EngineVegeta Engine = "vegeta"
	// EngineNative is tailgate's own open-loop engine, with HTTP/1.1 on
	// connections of its workers' own: for rates vegeta cannot sustain.
	EngineNative Engine = "native"
)

// ParseEngine checks an engine's name ("" is the default, vegeta).
func ParseEngine(s string) (Engine, error) {
	switch e := Engine(s); e {
	case "":
		return EngineVegeta, nil
	case EngineVegeta, EngineNative:
		return e, nil
	}
	return "", fmt.Errorf("%q is not an engine: use vegeta or native", s)
}

// Stream says how the response body is timed.
type Stream string

// Streams a target can declare.
const (
	StreamNone Stream = "none"
	StreamSSE  Stream = "sse"
)

// EmbeddedURL is the target URL that selects the built-in simulated service.
const EmbeddedURL = "embedded"

// Target is the service under test and the request sent to it.
type Target struct {
	URL      string            `yaml:"url"`
	Method   string            `yaml:"method"`
	Headers  map[string]string `yaml:"headers"`
	Body     string            `yaml:"body"`
	BodyFile string            `yaml:"body_file"`
	Stream   Stream            `yaml:"stream"`
	Timeout  Duration          `yaml:"timeout"`
	HTTP2    bool              `yaml:"http2"`
	Insecure bool              `yaml:"insecure"`
}

// Embedded reports whether the target is the built-in simulated service.
func (t Target) Embedded() bool { return t.URL == EmbeddedURL }

// DefaultTimeout bounds a request when target.timeout is not set.
const DefaultTimeout = 30 * time.Second

// Network describes the path between the load generator and the target.
type Network struct {
	Distance Distance   `yaml:"distance"`
	RTT      *Delay     `yaml:"rtt"`
	TLS      TLSVersion `yaml:"tls"`
	Reuse    *float64   `yaml:"reuse"`
	Emulate  bool       `yaml:"emulate"`
}

// ReuseValue is the share of requests on a warm connection, 0.9 when unset.
func (n Network) ReuseValue() float64 {
	if n.Reuse == nil {
		return 0.9
	}
	return *n.Reuse
}

// Service models the embedded service and the server side of simulate.
type Service struct {
	Workers  *int   `yaml:"workers"`
	Queue    *int   `yaml:"queue"`
	Database *Delay `yaml:"database"`
	TTFT     *Delay `yaml:"ttft"`
	Tokens   int    `yaml:"tokens"`
	ITL      *Delay `yaml:"itl"`
	Errors   Ratio  `yaml:"errors"`
}

// Defaults for a service that does not say.
const (
	DefaultWorkers = 32
	DefaultQueue   = 256
)

// WorkersValue is the number of requests served at once.
func (s Service) WorkersValue() int {
	if s.Workers == nil {
		return DefaultWorkers
	}
	return *s.Workers
}

// QueueValue is the number of requests that may wait for a worker; beyond it
// requests are shed with 503.
func (s Service) QueueValue() int {
	if s.Queue == nil {
		return DefaultQueue
	}
	return *s.Queue
}
