// Package mailtest provides a fake SMTP server for tests. It speaks enough
// SMTP for net/smtp (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
// QUIT; STARTTLS is not offered) and records every accepted message.
//
// net/smtp only sends AUTH PLAIN over TLS or to a server named "localhost",
// "127.0.0.1" or "::1", so point clients at "localhost:<port>" (Port gives it)
// or use NewTLSServer for implicit TLS.
package mailtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Received is one message accepted by the Server.
type Received struct {
	// From is the MAIL FROM address (without angle brackets).
	From string
	// To holds the RCPT TO addresses.
	To []string
	// Data is the DATA payload, headers and body, with dot-stuffing undone
	// and line endings normalised to "\n".
	Data string
	// User is the AUTH PLAIN identity, or "" when the client did not
	// authenticate.
	User string
}

// Server is a fake SMTP server listening on 127.0.0.1.
type Server struct {
	// User and Pass, when User is set, are the only credentials AUTH PLAIN
	// accepts; otherwise any credentials are accepted. Set them before the
	// first client connects.
	User, Pass string
	// RequireAuth makes MAIL fail with 530 before a successful AUTH.
	RequireAuth bool

	ln      net.Listener
	tlsConf *tls.Config // client config trusting the server, for NewTLSServer

	mu    sync.Mutex
	msgs  []Received
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

// NewServer starts a plain-text server on 127.0.0.1:0; it is stopped when
// the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	return start(t, ln, nil)
}

// NewTLSServer starts a server speaking SMTP over implicit TLS (as for
// smtps://) with a self-signed certificate for localhost and 127.0.0.1;
// ClientTLSConfig returns a client configuration that trusts it.
func NewTLSServer(t testing.TB) *Server {
	t.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("mailtest: certificate: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	return start(t, ln, &tls.Config{RootCAs: pool})
}

func start(t testing.TB, ln net.Listener, clientConf *tls.Config) *Server {
	s := &Server{ln: ln, tlsConf: clientConf, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is the listening address, "127.0.0.1:<port>".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the listening port.
func (s *Server) Port() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return port
}

// ClientTLSConfig returns a client TLS configuration trusting a
// NewTLSServer's certificate, or nil for a plain server.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.tlsConf == nil {
		return nil
	}
	return s.tlsConf.Clone()
}

// Messages returns a copy of the messages received so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		out[i] = m
	}
	return out
}

// Close stops the server, drops open connections and waits for them to end.
// It is called automatically when the test ends.
func (s *Server) Close() {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	s.done = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			s.session(c)
		}()
	}
}

// session runs one SMTP conversation.
func (s *Server) session(c net.Conn) {
	r := textproto.NewReader(bufio.NewReader(c))
	w := bufio.NewWriter(c)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			_, _ = w.WriteString(l + "\r\n")
		}
		return w.Flush() == nil
	}

	var (
		user  string
		authd bool
		cur   *Received
	)
	if !reply("220 localhost mailtest ESMTP ready") {
		return
	}
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if !reply("250-localhost greets "+arg, "250-8BITMIME", "250-AUTH PLAIN", "250 SMTPUTF8") {
				return
			}
		case "HELO":
			if !reply("250 localhost") {
				return
			}
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				reply("504 5.5.4 unrecognized authentication type")
				continue
			}
			if authd {
				reply("503 5.5.1 already authenticated")
				continue
			}
			if initial == "" {
				if !reply("334 ") {
					return
				}
				if initial, err = r.ReadLine(); err != nil {
					return
				}
			}
			u, ok := s.checkPlain(initial)
			if !ok {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			user, authd = u, true
			if !reply("235 2.7.0 authentication successful") {
				return
			}
		case "MAIL":
			if s.RequireAuth && !authd {
				reply("530 5.7.0 authentication required")
				continue
			}
			addr, ok := pathArg(arg, "FROM:")
			if !ok {
				reply("501 5.5.4 syntax: MAIL FROM:<address>")
				continue
			}
			cur = &Received{From: addr, User: user}
			if !reply("250 2.1.0 ok") {
				return
			}
		case "RCPT":
			if cur == nil {
				reply("503 5.5.1 need MAIL first")
				continue
			}
			addr, ok := pathArg(arg, "TO:")
			if !ok || addr == "" {
				reply("501 5.5.4 syntax: RCPT TO:<address>")
				continue
			}
			cur.To = append(cur.To, addr)
			if !reply("250 2.1.5 ok") {
				return
			}
		case "DATA":
			if cur == nil || len(cur.To) == 0 {
				reply("503 5.5.1 need RCPT first")
				continue
			}
			if !reply("354 end data with <CR><LF>.<CR><LF>") {
				return
			}
			data, err := r.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = string(data)
			s.mu.Lock()
			s.msgs = append(s.msgs, *cur)
			s.mu.Unlock()
			cur = nil
			if !reply("250 2.0.0 queued") {
				return
			}
		case "RSET":
			cur = nil
			if !reply("250 2.0.0 ok") {
				return
			}
		case "NOOP":
			if !reply("250 2.0.0 ok") {
				return
			}
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			if !reply("502 5.5.2 command not implemented") {
				return
			}
		}
	}
}

// checkPlain decodes an AUTH PLAIN response ("authzid\0user\0pass").
func (s *Server) checkPlain(b64 string) (user string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		return "", false
	}
	if s.User != "" && (parts[1] != s.User || parts[2] != s.Pass) {
		return "", false
	}
	return parts[1], true
}

// pathArg extracts the address from "FROM:<addr> [params]".
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
