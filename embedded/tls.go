package embedded

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// certValidity is how long the generated certificates are valid. Short,
// because the keys live only in memory and die with the process; a week
// rather than a day so that `tailgate serve` left running over a weekend
// does not start failing verification.
const certValidity = 7 * 24 * time.Hour

// certBackdate moves NotBefore into the past, so that a client whose clock
// is a little behind ours still accepts a certificate made a moment ago.
const certBackdate = time.Minute

// tlsVersion maps network.tls to the crypto/tls version constant: 0 for
// plain HTTP.
func tlsVersion(v scenario.TLSVersion) (uint16, error) {
	switch v {
	case "":
		return 0, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("network.tls: TLS version %q is not supported: use \"1.2\" or \"1.3\"", string(v))
}

// credentials are what the embedded service needs to serve HTTPS: the leaf
// certificate and key it presents, and the root a client must trust.
//
// The chain is a tiny CA and a leaf rather than a lone self-signed leaf. Go
// accepts either, but stricter verifiers (Python 3.13's default
// VERIFY_X509_STRICT, webpki/rustls, browsers) reject a CA certificate used
// as a server certificate or an end-entity certificate used as a trust
// anchor, and `tailgate serve` is meant for other tools too. The CA's key is
// dropped once the leaf is signed, so trusting the CA trusts exactly this
// one leaf: nothing else can ever be signed by it.
type credentials struct {
	leaf  tls.Certificate   // presented by the server
	root  *x509.Certificate // the CA that signed leaf
	roots *x509.CertPool    // holds root alone
}

// newCredentials makes a fresh CA and a leaf valid for localhost, 127.0.0.1,
// ::1 and, when the listener is bound to one specific address, that
// address too. The keys are ECDSA P-256 (fast to make and to handshake
// with) from crypto/rand, not from the scenario's seed: a repeatable private
// key would be a published one.
func newCredentials(addr net.Addr, now time.Time) (*credentials, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := now.Add(-certBackdate), now.Add(certValidity)
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "tailgate embedded service CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs the leaf and nothing below it
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP != nil && !tcp.IP.IsUnspecified() && !tcp.IP.IsLoopback() {
		ips = append(ips, tcp.IP)
	}
	leafTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "tailgate embedded service"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           ips,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, leafKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &credentials{
		leaf:  tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey, Leaf: leaf},
		root:  ca,
		roots: roots,
	}, nil
}

// serverTLS is the server's TLS configuration for exactly one version.
//
// Session tickets are off so that every new connection pays a full
// handshake (1 RTT on TLS 1.3, 2 on 1.2): tailgate's tls line and its
// handshake-amplification figures measure full handshakes, and a resumed
// one would hide the cost the scenario models. crypto/tls servers resume
// only from tickets (there is no session-ID cache), so this turns
// resumption off entirely. NextProtos is left to http.Server.ServeTLS, which
// derives it from http.Server.Protocols.
func serverTLS(version uint16, c *credentials) *tls.Config {
	return &tls.Config{
		MinVersion:             version,
		MaxVersion:             version,
		Certificates:           []tls.Certificate{c.leaf},
		SessionTicketsDisabled: true,
	}
}

// ClientTLS returns a new client configuration that trusts exactly this
// server's certificate, without InsecureSkipVerify, or nil when the server
// serves plain HTTP. ServerName is left empty: the certificate names
// 127.0.0.1, ::1 and localhost, so the host of URL verifies as it is.
// NextProtos is left empty too, for the client's transport to fill (an
// http.Transport offers h2 when ForceAttemptHTTP2 is set). The caller may
// change the returned value.
//
//	tr := &http.Transport{TLSClientConfig: srv.ClientTLS(), ForceAttemptHTTP2: true}
func (s *Server) ClientTLS() *tls.Config {
	if s.creds == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.creds.roots}
}

// RootPEM returns the PEM-encoded certificate a client must trust to reach
// this server (for tools outside tailgate: curl --cacert, SSL_CERT_FILE), or
// nil when the server serves plain HTTP.
func (s *Server) RootPEM() []byte {
	if s.creds == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.creds.root.Raw})
}
