package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// The profiling server (serve --debug-addr): net/http/pprof's handlers on
// an address of their own, off by default and only ever on loopback, so
// that an operator can see where the time goes
// (go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30)
// without exposing it. Profiles hold no resource contents, but they name
// code paths and timings: they are not for the network.

// checkDebugAddr refuses a --debug-addr that is not a loopback host:port.
func checkDebugAddr(addr string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("debug address %q: want host:port: %w", addr, err)
	}
	if !LoopbackListen(addr) {
		return fmt.Errorf("debug address %q: the profiling server listens on loopback only (127.0.0.1, ::1, localhost)", addr)
	}
	return nil
}

// startDebug serves pprof on addr until the returned server is closed.
func startDebug(addr string) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("debug listen on %s: %w", addr, err)
	}
	if !boundLoopback(ln.Addr()) { // checkDebugAddr resolved the name; this is what was bound
		_ = ln.Close()
		return nil, nil, fmt.Errorf("debug listen on %s: bound %s, not a loopback address", addr, ln.Addr())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: loopbackHostOnly(mux), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // it ends with Close; the profiler stopping is not the service stopping
	return srv, ln, nil
}

// loopbackHostOnly answers 421 Misdirected Request to a request whose Host
// is not a loopback name or address (localhost, 127.0.0.0/8, [::1], with
// or without a port; httpapi.IsLoopbackHost, the API's own rule). Listening
// on loopback is not enough: a web page whose name an attacker rebinds to
// 127.0.0.1 (DNS rebinding) reaches the listener from the operator's
// browser, with its own name in Host, and could read
// /debug/pprof/cmdline, which may hold a --database URL with a password.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpapi.IsLoopbackRequestHost(r.Host) {
			http.Error(w, "the profiling server answers only to a loopback Host (localhost, 127.0.0.1, [::1])", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
