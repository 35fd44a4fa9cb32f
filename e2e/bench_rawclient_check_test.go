//go:build stsbench

package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The load generator's client against a real net/http server: what it
// counts as an answer, an error, and when it reuses a connection.
func TestRawCall(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			if r.Method != http.MethodPut || r.Header.Get("Authorization") != "Bearer tok-"+r.URL.Query().Get("w") {
				http.Error(w, "unexpected request "+r.Method+" "+r.Header.Get("Authorization"), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"Credentials":{}}`))
		case "/healthz":
			if r.Header.Get("Authorization") != "" {
				http.Error(w, "a token where none was sent", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(`{"Status":"ok"}`))
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusCreated)
		case "/chunked":
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("b"))
		default:
			http.Error(w, strings.Repeat("x", 500), http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		method  string
		path    string
		tokens  []string
		status  int
		wantErr string
		// newConns is how many connections three calls open: a failed
		// call closes its connection.
		newConns int32
	}{
		{"answer kept alive", http.MethodPut, "/token?w=0", []string{"tok-0"}, http.StatusCreated, "", 1},
		{"no token", http.MethodGet, "/healthz", nil, http.StatusOK, "", 1},
		{"other status", http.MethodGet, "/nowhere", nil, http.StatusOK, "status 404: " + strings.Repeat("x", 120), 3},
		{"wrong token", http.MethodPut, "/token?w=0", []string{"tok-1"}, http.StatusCreated, "status 400: unexpected request PUT Bearer tok-1", 3},
		{"server closes", http.MethodPut, "/close", []string{"t"}, http.StatusCreated, "", 3},
		{"no length", http.MethodPut, "/chunked", []string{"t"}, http.StatusCreated, "status 201: Transfer-Encoding chunked", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do, closeIdle, err := newRawCall(tt.method, srv.URL+tt.path, tt.tokens, tt.status, 4)
			if err != nil {
				t.Fatal(err)
			}
			defer closeIdle()
			before := conns.Load()
			for i := 0; i < 3; i++ {
				err := do(context.Background(), 0)
				got := ""
				if err != nil {
					got = err.Error()
				}
				if got != tt.wantErr {
					t.Fatalf("call %d: error %q, want %q", i, got, tt.wantErr)
				}
			}
			if n := conns.Load() - before; n != tt.newConns {
				t.Errorf("three calls opened %d connections, want %d", n, tt.newConns)
			}
		})
	}
}

func TestRawCallRefusesHTTPS(t *testing.T) {
	if _, _, err := newRawCall(http.MethodGet, "https://127.0.0.1:1/", nil, http.StatusOK, 1); err == nil {
		t.Fatal("https:// accepted")
	}
}
