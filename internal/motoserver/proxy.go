package motoserver

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one AWS API call as the proxy saw it.
type Call struct {
	Service string // the signing name: lambda, iam, apigateway, elasticloadbalancing, wafv2, sts...
	Region  string
	// Operation is the call's name where the protocol carries one (the
	// JSON protocols' X-Amz-Target, the query protocol's Action); REST
	// protocols (Lambda, API Gateway) carry only Method and Path.
	Operation string
	Method    string
	Path      string // unescaped
	Query     url.Values
	Form      url.Values // the query protocol's parameters
	At        time.Time  // when it arrived
}

// String names the call: "lambda ListFunctions" or "lambda GET /2015-03-31/functions/f/policy".
func (c Call) String() string {
	if c.Operation != "" {
		return c.Service + " " + c.Operation
	}
	return c.Service + " " + c.Method + " " + c.Path
}

// Refusal is the error the proxy answers a call with instead of passing
// it on.
type Refusal struct {
	Status  int    // 403 for AccessDenied, 429 or 400 for throttling
	Code    string // AccessDeniedException, AccessDenied, TooManyRequestsException, Throttling...
	Message string
}

// ProxyOptions shape what the proxy does.
type ProxyOptions struct {
	// Delay is added to every call before it is passed on, as a far
	// endpoint would.
	Delay time.Duration
	// Refuse, when set, is asked about every call; a refusal is
	// answered in the call's protocol and not passed on.
	Refuse func(Call) (Refusal, bool)
	// Hold, when set, is asked about every call; a call it holds is
	// neither passed on nor answered until the client gives up (its
	// timeout, or its process dies) or the test ends: an endpoint that
	// has gone silent.
	Hold func(Call) bool
}

// Proxy stands in front of moto on a loopback port and records the calls
// that pass.
type Proxy struct {
	URL string

	opts   ProxyOptions
	rp     *httputil.ReverseProxy
	closed chan struct{} // closed when the test ends: held calls let go
	mu     sync.Mutex
	log    []Call
}

// NewProxy starts a proxy to target, closed when the test ends.
func NewProxy(t testing.TB, target string, opts ProxyOptions) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	p := &Proxy{opts: opts, rp: httputil.NewSingleHostReverseProxy(u), closed: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.closed) }) // before srv.Close, which waits for held calls
	p.URL = srv.URL
	return p
}

// Calls returns the calls seen so far, in order.
func (p *Proxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.log...)
}

// Reset forgets the calls seen.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.log = nil
	p.mu.Unlock()
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := readCall(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.log = append(p.log, c)
	p.mu.Unlock()
	if p.opts.Delay > 0 {
		t := time.NewTimer(p.opts.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if p.opts.Hold != nil && p.opts.Hold(c) {
		select {
		case <-r.Context().Done():
		case <-p.closed:
		}
		return
	}
	if p.opts.Refuse != nil {
		if ref, ok := p.opts.Refuse(c); ok {
			refuse(w, r, ref)
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// readCall reads what the call is; the body is read and put back for the
// query protocol, which names the action in it.
func readCall(r *http.Request) (Call, error) {
	c := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), At: time.Now()}
	if auth := r.Header.Get("Authorization"); auth != "" {
		// Credential=AKID/DATE/REGION/SERVICE/aws4_request
		if _, cred, ok := strings.Cut(auth, "Credential="); ok {
			cred, _, _ = strings.Cut(cred, ",")
			if parts := strings.Split(cred, "/"); len(parts) == 5 {
				c.Region, c.Service = parts[2], parts[3]
			}
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		_, c.Operation, _ = strings.Cut(target, ".")
		return c, nil
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return c, fmt.Errorf("read body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			c.Operation, c.Form = form.Get("Action"), form
		}
	}
	return c, nil
}

// refuse answers in the protocol the request used: XML for the query
// protocol, JSON with X-Amzn-ErrorType for the others.
func refuse(w http.ResponseWriter, r *http.Request, ref Refusal) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		type xmlErr struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		body, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Error     xmlErr   `xml:"Error"`
			RequestID string   `xml:"RequestId"`
		}{Error: xmlErr{"Sender", ref.Code, ref.Message}, RequestID: "refused-by-proxy"})
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(ref.Status)
		_, _ = w.Write(body)
		return
	}
	body, _ := json.Marshal(map[string]string{"__type": ref.Code, "message": ref.Message, "Message": ref.Message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", ref.Code)
	w.WriteHeader(ref.Status)
	_, _ = w.Write(body)
}
