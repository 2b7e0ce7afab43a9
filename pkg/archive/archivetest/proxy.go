// Package archivetest serves S3 archives on loopback for tests and
// benchmarks: a proxy that adds a fixed latency to each request and counts
// the connections and calls that reach it, and gofakes3 buckets filled
// with CloudTrail-shaped log files.
package archivetest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Stats is what a Proxy has seen since it started or was last Reset.
type Stats struct {
	Conns    int `json:"conns"`    // connections opened
	MaxOpen  int `json:"max_open"` // most connections open at once
	Requests int `json:"requests"`
	Lists    int `json:"lists"`     // ListObjectsV2 calls
	Gets     int `json:"gets"`      // object reads
	MaxLists int `json:"max_lists"` // most listings under way at once
	MaxGets  int `json:"max_gets"`  // most object reads under way at once
}

// Proxy is an HTTP server on 127.0.0.1 that holds each request for a fixed
// delay before handing it to an upstream handler, as a distant S3 endpoint
// makes each call wait, and counts connections and calls. Pass
// httputil.NewSingleHostReverseProxy to front a server elsewhere; an
// in-process handler spares the second hop.
type Proxy struct {
	URL string // http://127.0.0.1:port

	opts     Options
	upstream http.Handler
	srv      *http.Server
	done     chan struct{}
	serveErr error // why Serve stopped, if not Close; read after done

	mu          sync.Mutex
	conns       map[net.Conn]http.ConnState // open ones
	stats       Stats
	lists, gets int // under way
}

// Options shape a Proxy.
type Options struct {
	Delay time.Duration // added to every request, or to object reads alone
	// GetsOnly delays object reads (GET of a key) and passes listings and
	// other calls straight through.
	GetsOnly bool
}

// NewProxy starts a proxy in front of upstream on a loopback port.
func NewProxy(upstream http.Handler, o Options) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("latency proxy: listen on loopback: %w", err)
	}
	p := &Proxy{
		URL:      "http://" + ln.Addr().String(),
		opts:     o,
		upstream: upstream,
		done:     make(chan struct{}),
		conns:    map[net.Conn]http.ConnState{},
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: time.Minute,
		ConnState:         p.connState,
	}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			p.serveErr = fmt.Errorf("latency proxy: %w", err)
		}
	}()
	return p, nil
}

func (p *Proxy) connState(c net.Conn, s http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s {
	case http.StateNew:
		p.stats.Conns++
		p.conns[c] = s
		p.stats.MaxOpen = max(p.stats.MaxOpen, len(p.conns))
	case http.StateClosed, http.StateHijacked:
		delete(p.conns, c)
	default:
		p.conns[c] = s
	}
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	k := kind(r)
	p.mu.Lock()
	p.stats.Requests++
	switch k {
	case "list":
		p.stats.Lists++
		p.lists++
		p.stats.MaxLists = max(p.stats.MaxLists, p.lists)
	case "get":
		p.stats.Gets++
		p.gets++
		p.stats.MaxGets = max(p.stats.MaxGets, p.gets)
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		switch k {
		case "list":
			p.lists--
		case "get":
			p.gets--
		}
		p.mu.Unlock()
	}()
	if p.opts.Delay > 0 && (k == "get" || !p.opts.GetsOnly) {
		t := time.NewTimer(p.opts.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	p.upstream.ServeHTTP(w, r)
}

// kind tells listings and object reads apart in path-style S3 requests:
// GET /bucket?list-type=2 lists, GET /bucket/key reads.
func kind(r *http.Request) string {
	if r.Method != http.MethodGet {
		return "other"
	}
	if r.URL.Query().Get("list-type") == "2" {
		return "list"
	}
	if _, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); key != "" {
		return "get"
	}
	return "other"
}

// Stats reports the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Reset closes idle connections, so that the next client starts with
// none, and zeroes the counts. It first waits, up to resetWait, for the
// requests under way to end and their connections to go idle: a client
// can read a whole response before the handler has returned.
func (p *Proxy) Reset() {
	for deadline := time.Now().Add(resetWait); time.Now().Before(deadline) && p.busy(); {
		time.Sleep(time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		if s == http.StateIdle || s == http.StateNew {
			c.Close()
			delete(p.conns, c)
		}
	}
	p.stats = Stats{MaxOpen: len(p.conns), MaxLists: p.lists, MaxGets: p.gets}
}

// resetWait bounds how long Reset waits for requests under way.
const resetWait = 2 * time.Second

// busy reports whether a request is under way or a connection active.
func (p *Proxy) busy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lists > 0 || p.gets > 0 {
		return true
	}
	for _, s := range p.conns {
		if s == http.StateActive {
			return true
		}
	}
	return false
}

// Close stops the proxy and closes its connections, those of requests
// under way too: what a test or a benchmark left running has no use.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	<-p.done
	return errors.Join(err, p.serveErr)
}
