package localrun

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/slackalert"
)

// SlackMessage is one message the Slack stand-in accepted.
type SlackMessage struct {
	Payload slack.WebhookMessage
	Raw     []byte
	// Text is the message as a person reads it in Slack, for a terminal.
	Text string
}

// SlackAnswer is how the stand-in answers one request.
type SlackAnswer struct {
	Status     int           // 0 means 200
	RetryAfter string        // the Retry-After header, if set
	Delay      time.Duration // wait this long before answering
}

// SlackBehavior decides the answer to the n-th request (from 1). The
// message is accepted, and recorded, only when the answer is 200.
type SlackBehavior func(n int, msg slack.WebhookMessage) SlackAnswer

// FakeSlack stands in for a Slack incoming webhook on a loopback port.
type FakeSlack struct {
	URL string

	behave SlackBehavior
	srv    *http.Server
	done   chan struct{}

	mu       sync.Mutex
	requests int
	accepted []SlackMessage
	errs     []error
}

// StartFakeSlack starts the stand-in; a nil behave accepts everything.
func StartFakeSlack(behave SlackBehavior) (*FakeSlack, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake slack: listen: %w", err)
	}
	s := &FakeSlack{URL: "http://" + l.Addr().String() + "/services/T000/B000/XXXX", behave: behave, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/", s.serve)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

func (s *FakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	msg, err := slackalert.ParsePayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	n, behave := s.requests, s.behave
	s.mu.Unlock()

	var a SlackAnswer
	if behave != nil {
		a = behave(n, msg)
	}
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.Status != 0 && a.Status != http.StatusOK {
		http.Error(w, http.StatusText(a.Status), a.Status)
		return
	}
	s.mu.Lock()
	s.accepted = append(s.accepted, SlackMessage{Payload: msg, Raw: body, Text: slackalert.RenderText(msg)})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok")
}

// SetBehavior changes how the stand-in answers from the next request on;
// nil accepts everything.
func (s *FakeSlack) SetBehavior(behave SlackBehavior) {
	s.mu.Lock()
	s.behave = behave
	s.mu.Unlock()
}

// Take returns and forgets the messages accepted so far.
func (s *FakeSlack) Take() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.accepted
	s.accepted = nil
	return m
}

// Requests counts the requests answered so far, accepted or not.
func (s *FakeSlack) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Errors are the requests that were not Slack payloads.
func (s *FakeSlack) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// Close stops the stand-in.
func (s *FakeSlack) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
}
