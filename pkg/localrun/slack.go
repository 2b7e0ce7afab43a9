package localrun

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

	// Method is how it came: "webhook" or "chat.postMessage".
	Method string
	// Channel and TS are where and when Slack stored it (the webhook's
	// channel is FakeSlackChannel).
	Channel string
	TS      string
	// Metadata is chat.postMessage's metadata, if it had any.
	Metadata *slack.SlackMetadata
}

// SlackAnswer is how the stand-in answers one request.
type SlackAnswer struct {
	Status     int           // 0 means 200
	RetryAfter string        // the Retry-After header, if set
	Delay      time.Duration // wait this long before answering
	// AcceptFirst stores a 200's message before the Delay, as Slack does
	// when its answer, not the post, is slow: a client that gives up
	// waiting has posted all the same.
	AcceptFirst bool
	// Hangup closes the connection instead of answering, after the
	// Delay (and, with AcceptFirst, after storing the message).
	Hangup bool
}

// SlackBehavior decides the answer to the n-th post (from 1), by webhook
// or chat.postMessage. The message is accepted, and recorded, only when
// the answer is 200.
type SlackBehavior func(n int, msg slack.WebhookMessage) SlackAnswer

// FakeSlackChannel is the channel the stand-in's webhook posts to.
const FakeSlackChannel = "C0LAMBDAWATCH"

// FakeSlack stands in for Slack on a loopback port: an incoming webhook
// (URL) and, for bot tokens, the Web API's chat.postMessage and
// conversations.history (APIURL), answered in Slack's JSON shapes.
type FakeSlack struct {
	URL string
	// APIURL is the Web API's base, for SLACK_API_URL (slack-go's
	// OptionAPIURL).
	APIURL string

	behave SlackBehavior
	srv    *http.Server
	done   chan struct{}

	mu         sync.Mutex
	requests   int
	accepted   []SlackMessage // since the last Take
	history    []SlackMessage // every message, for conversations.history
	lastTS     int64          // microseconds
	historyErr string
	reads      int
	errs       []error
}

// StartFakeSlack starts the stand-in; a nil behave accepts everything.
func StartFakeSlack(behave SlackBehavior) (*FakeSlack, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake slack: listen: %w", err)
	}
	base := "http://" + l.Addr().String()
	s := &FakeSlack{URL: base + "/services/T000/B000/XXXX", APIURL: base + "/api/", behave: behave, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/", s.serveWebhook)
	mux.HandleFunc("POST /api/chat.postMessage", s.servePostMessage)
	mux.HandleFunc("POST /api/conversations.history", s.serveHistory)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

func (s *FakeSlack) serveWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	msg, err := slackalert.ParsePayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.fail(err)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	m := SlackMessage{Payload: msg, Raw: body, Method: "webhook", Channel: FakeSlackChannel}
	if !s.answer(w, r, &m) {
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok")
}

// readAPIForm reads a Web API call's form body and checks its token; it
// answers the call itself, as Slack does, when either fails.
func readAPIForm(w http.ResponseWriter, r *http.Request) ([]byte, url.Values, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return nil, nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !authed(r, form) {
		apiError(w, "not_authed")
		return nil, nil, false
	}
	return body, form, true
}

// servePostMessage answers chat.postMessage as Slack does: HTTP 200 with
// {"ok":true,"channel":...,"ts":...,"message":...}, or ok false and the
// error.
func (s *FakeSlack) servePostMessage(w http.ResponseWriter, r *http.Request) {
	body, form, ok := readAPIForm(w, r)
	if !ok {
		return
	}
	msg, err := slackalert.ParsePayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.fail(err)
		apiError(w, "invalid_arguments")
		return
	}
	if msg.Channel == "" {
		apiError(w, "channel_not_found")
		return
	}
	m := SlackMessage{Payload: msg, Raw: body, Method: "chat.postMessage", Channel: msg.Channel}
	if v := form.Get("metadata"); v != "" {
		var md slack.SlackMetadata
		if err := json.Unmarshal([]byte(v), &md); err != nil || md.EventType == "" {
			apiError(w, "invalid_metadata_format")
			return
		}
		m.Metadata = &md
	}
	if !s.answer(w, r, &m) {
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "message": historyMessage(m, true)})
}

// answer applies the behaviour to a post: it reports whether to write
// the success answer, having stored m (and set its TS) if so, or written
// the failure.
func (s *FakeSlack) answer(w http.ResponseWriter, r *http.Request, m *SlackMessage) bool {
	s.mu.Lock()
	s.requests++
	n, behave := s.requests, s.behave
	s.mu.Unlock()

	var a SlackAnswer
	if behave != nil {
		a = behave(n, m.Payload)
	}
	ok := a.Status == 0 || a.Status == http.StatusOK
	if ok && a.AcceptFirst {
		s.store(m)
	}
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-r.Context().Done():
			return false
		}
	}
	if a.Hangup {
		if hj, hok := w.(http.Hijacker); hok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return false
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if !ok {
		http.Error(w, http.StatusText(a.Status), a.Status)
		return false
	}
	if !a.AcceptFirst {
		s.store(m)
	}
	return true
}

func (s *FakeSlack) store(m *SlackMessage) {
	m.Text = slackalert.RenderText(m.Payload)
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := max(time.Now().UnixMicro(), s.lastTS+1) // Slack's ts is unique in a channel
	s.lastTS = ts
	m.TS = fmt.Sprintf("%d.%06d", ts/1e6, ts%1e6)
	s.accepted = append(s.accepted, *m)
	s.history = append(s.history, *m)
}

// serveHistory answers conversations.history as Slack does: the
// channel's messages between oldest and latest, newest first, at most
// limit of them, metadata only with include_all_metadata, and has_more
// with a cursor to the next page.
func (s *FakeSlack) serveHistory(w http.ResponseWriter, r *http.Request) {
	_, form, ok := readAPIForm(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.reads++
	code := s.historyErr
	all := slices.Clone(s.history)
	s.mu.Unlock()
	if code != "" {
		if code == "missing_scope" {
			writeJSON(w, map[string]any{"ok": false, "error": code, "needed": "channels:history", "provided": "chat:write"})
			return
		}
		apiError(w, code)
		return
	}
	channel := form.Get("channel")
	if channel == "" {
		apiError(w, "channel_not_found")
		return
	}
	oldest, err1 := tsMicros(form.Get("oldest"), 0)
	latest, err2 := tsMicros(form.Get("latest"), 1<<62)
	limit, err3 := strconv.Atoi(cmp.Or(form.Get("limit"), "100"))
	offset := 0
	if c := form.Get("cursor"); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		if err == nil {
			offset, err = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		}
		if err != nil {
			apiError(w, "invalid_cursor")
			return
		}
	}
	if err1 != nil || err2 != nil || err3 != nil || limit < 1 {
		apiError(w, "invalid_arguments")
		return
	}
	limit = min(limit, 999)
	inclusive := form.Get("inclusive") == "1" || form.Get("inclusive") == "true"
	withMetadata := form.Get("include_all_metadata") == "1" || form.Get("include_all_metadata") == "true"

	var in []SlackMessage
	for _, m := range slices.Backward(all) {
		ts, _ := tsMicros(m.TS, 0)
		if m.Channel != channel || ts > latest || ts < oldest || (!inclusive && (ts == oldest || ts == latest)) {
			continue
		}
		in = append(in, m)
	}
	page := in[min(offset, len(in)):]
	hasMore := len(page) > limit
	page = page[:min(limit, len(page))]
	msgs := make([]map[string]any, 0, len(page))
	for _, m := range page {
		msgs = append(msgs, historyMessage(m, withMetadata))
	}
	next := ""
	if hasMore {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset+limit)))
	}
	writeJSON(w, map[string]any{"ok": true, "messages": msgs, "has_more": hasMore, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next}})
}

// historyMessage is m as Slack shows a bot's message.
func historyMessage(m SlackMessage, withMetadata bool) map[string]any {
	out := map[string]any{"type": "message", "user": "U0LAMBDAWATCH", "bot_id": "B0LAMBDAWATCH", "text": m.Payload.Text, "ts": m.TS}
	if m.Payload.Blocks != nil {
		out["blocks"] = m.Payload.Blocks.BlockSet
	}
	if withMetadata && m.Metadata != nil {
		out["metadata"] = map[string]any{"event_type": m.Metadata.EventType, "event_payload": m.Metadata.EventPayload}
	}
	return out
}

// authed accepts a bot token in the Authorization header or the form.
func authed(r *http.Request, form url.Values) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = form.Get("token")
	}
	return strings.HasPrefix(tok, "xoxb-")
}

// tsMicros reads a Slack timestamp ("1712345678.123456"); empty is def.
func tsMicros(ts string, def int64) (int64, error) {
	if ts == "" {
		return def, nil
	}
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, err
	}
	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	return s*1e6 + us, nil
}

// apiError is the Web API's answer to a call that failed: HTTP 200 with
// ok false.
func apiError(w http.ResponseWriter, code string) {
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *FakeSlack) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// SetBehavior changes how the stand-in answers from the next request on;
// nil accepts everything.
func (s *FakeSlack) SetBehavior(behave SlackBehavior) {
	s.mu.Lock()
	s.behave = behave
	s.mu.Unlock()
}

// SetHistoryError makes conversations.history fail with Slack's error
// code (missing_scope, ratelimited, ...); "" lets it answer again.
func (s *FakeSlack) SetHistoryError(code string) {
	s.mu.Lock()
	s.historyErr = code
	s.mu.Unlock()
}

// Take returns and forgets the messages accepted so far.
// conversations.history still shows them.
func (s *FakeSlack) Take() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.accepted
	s.accepted = nil
	return m
}

// Requests counts the posts answered so far, accepted or not.
func (s *FakeSlack) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// HistoryReads counts the conversations.history calls so far.
func (s *FakeSlack) HistoryReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
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
