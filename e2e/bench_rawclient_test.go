//go:build stsbench

package e2e

// The load generator's HTTP client for the measured rows. On these 2-core
// machines every microsecond the load generator spends is taken from MinIO
// and the gateway, so it should cost what wrk costs, not what net/http's
// client costs: that one hands every request to a connection's reader and
// writer goroutines over channels, about 120 µs of CPU per request here.
// This one writes a prepared request on a kept-alive connection and reads
// the answer on the same goroutine.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// rawClient sends one fixed request shape (method, URL, one bearer token
// per worker) over HTTP/1.1 keep-alive connections, one per request in
// flight.
type rawClient struct {
	addr   string
	status int
	// requests[i] is the whole request with tokens[i] (or without a token).
	requests [][]byte
	idle     chan *rawConn
}

type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// newRawCall is httpCall's lean twin: method rawURL with worker w's bearer
// token (none when tokens is nil), wanting status back. conns bounds the
// idle connections kept.
func newRawCall(method, rawURL string, tokens []string, status, conns int) (call, func(), error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme != "http" {
		return nil, nil, fmt.Errorf("%s: only http:// is supported", rawURL)
	}
	c := &rawClient{addr: u.Host, status: status, idle: make(chan *rawConn, conns)}
	auth := tokens
	if auth == nil {
		auth = []string{""}
	}
	for _, t := range auth {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: stsbench\r\n", method, u.RequestURI(), u.Host)
		if t != "" {
			fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", t)
		}
		if method == http.MethodPut || method == http.MethodPost {
			b.WriteString("Content-Length: 0\r\n")
		}
		b.WriteString("\r\n")
		c.requests = append(c.requests, b.Bytes())
	}
	return c.do, c.close, nil
}

func (c *rawClient) do(ctx context.Context, w int) error {
	conn, err := c.conn(ctx)
	if err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	keep, err := c.exchange(conn, c.requests[w%len(c.requests)])
	if err != nil || !keep {
		_ = conn.Close()
		return err
	}
	select {
	case c.idle <- conn:
	default:
		_ = conn.Close()
	}
	return nil
}

// conn takes an idle connection or dials one.
func (c *rawClient) conn(ctx context.Context) (*rawConn, error) {
	select {
	case conn := <-c.idle:
		return conn, nil
	default:
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
}

// exchange writes req and reads the answer. keep says whether the
// connection can carry the next request.
func (c *rawClient) exchange(conn *rawConn, req []byte) (keep bool, err error) {
	if _, err := conn.Write(req); err != nil {
		return false, err
	}
	status, length, keep, err := readHead(conn.r)
	if err != nil {
		return false, err
	}
	if length < 0 {
		return false, fmt.Errorf("status %d: an answer without Content-Length", status)
	}
	var body []byte
	if status != c.status {
		body = make([]byte, min(length, maxQuotedBody))
		if _, err := io.ReadFull(conn.r, body); err != nil {
			return false, err
		}
		length -= len(body)
	}
	if _, err := conn.r.Discard(length); err != nil {
		return false, err
	}
	if status != c.status {
		return false, wrongStatus(status, body)
	}
	return keep, nil
}

var errBadAnswer = errors.New("malformed HTTP answer")

// readHead reads an answer's status line and headers: the status, the
// Content-Length (-1 without one) and whether the connection stays open.
func readHead(r *bufio.Reader) (status, length int, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, 0, false, errBadAnswer
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, errBadAnswer
	}
	length, keep = -1, true
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return status, length, keep, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, false, errBadAnswer
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, 0, false, errBadAnswer
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// Not needed by any row: every answer here has a length.
			return 0, 0, false, fmt.Errorf("status %d: Transfer-Encoding %s", status, value)
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
}

func (c *rawClient) close() {
	for {
		select {
		case conn := <-c.idle:
			_ = conn.Close()
		default:
			return
		}
	}
}
