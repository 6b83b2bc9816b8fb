//go:build !unix

package load

import "net"

// socketPeek cannot look at a socket without reading it on this system:
// usable relies on a goroutine reading the idle connection instead (watch).
type socketPeek struct{}

func (p *socketPeek) init(net.Conn) {}

func (p *socketPeek) sees() bool { return false }

func (p *socketPeek) peek() socketState { return socketUnknown }
