//go:build unix

package load

import (
	"net"
	"syscall"
)

// socketPeek looks at a connection's socket with recv(MSG_PEEK), which
// neither takes the bytes it finds nor waits for any: every socket of Go's
// net package is non-blocking, so no MSG_DONTWAIT is needed.
type socketPeek struct {
	raw   syscall.RawConn
	look  func(fd uintptr) bool // p.lookFD, bound once a connection: a peek allocates nothing
	state socketState
	b     [1]byte
}

// init makes p look at conn's socket, when conn has one.
func (p *socketPeek) init(conn net.Conn) {
	*p = socketPeek{}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw, p.look = raw, p.lookFD
}

// sees says whether p can look at a socket.
func (p *socketPeek) sees() bool { return p.raw != nil }

// peek says what the socket holds now.
func (p *socketPeek) peek() socketState {
	if p.raw == nil {
		return socketUnknown
	}
	// RawConn.Read fails on a closed socket or a passed read deadline.
	if err := p.raw.Read(p.look); err != nil {
		return socketBusy
	}
	return p.state
}

func (p *socketPeek) lookFD(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), p.b[:], syscall.MSG_PEEK)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			p.state = socketQuiet
		default:
			// A byte, the end of the stream (0 bytes, no error) or an error.
			p.state = socketBusy
		}
		return true // done: never wait for the socket to become readable
	}
}
