package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/Admiral-Piett/goaws/app/conf"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/sirupsen/logrus"

	"github.com/lambdawatch/lambdawatch/pkg/notify"
)

// goawsMu is held by the running pipeline: goaws keeps topics and
// subscriptions in package variables.
var goawsMu sync.Mutex

// snsServer is goaws's SNS served on a loopback listener, with one topic
// whose only subscriber is the glue's HTTP endpoint.
type snsServer struct {
	URL      string
	TopicARN string
	srv      *http.Server
	done     chan struct{}
}

// goawsConfig is goaws's YAML configuration: one topic, one http
// subscription without raw delivery, so the glue gets SNS's JSON envelope
// with the subject and attributes; no queues.
const goawsConfig = `Local:
  Host: 127.0.0.1
  Port: "%[1]s"
  Region: %[2]s
  AccountId: "%[3]s"
  LogToFile: false
  Topics:
    - Name: %[4]s
      Subscriptions:
        - Protocol: http
          EndPoint: %[5]q
          TopicArn: %[6]q
          Raw: false
`

func startSNS(dir, region, account, topic, endpoint string, wrap func(http.Handler) http.Handler, logs io.Writer) (*snsServer, error) {
	if !goawsMu.TryLock() {
		return nil, errors.New("a pipeline is already running in this process (goaws state is global)")
	}
	ok := false
	defer func() {
		if !ok {
			goawsMu.Unlock()
		}
	}()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sns: listen: %w", err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, account, topic)
	path := filepath.Join(dir, "goaws.yaml")
	cfg := fmt.Sprintf(goawsConfig, port, region, account, topic, endpoint, arn)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		l.Close()
		return nil, fmt.Errorf("sns: %w", err)
	}
	logrus.SetOutput(logs)
	logrus.SetFormatter(&logrus.JSONFormatter{})
	logrus.SetLevel(logrus.WarnLevel)
	conf.LoadYamlConfig(path, "Local")

	h := router.New()
	if wrap != nil {
		h = wrap(h)
	}
	s := &snsServer{
		URL:      "http://" + l.Addr().String(),
		TopicARN: arn,
		srv:      &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	ok = true
	return s, nil
}

func (s *snsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
	goawsMu.Unlock()
}

// Notification is one SNS message as a subscriber sees it, with the member
// of each protocol that real SNS would hand out.
type Notification struct {
	MessageID  string
	Subject    string
	Attributes map[string]string
	// Email is the email member: the body of the mail.
	Email string
	// Body is the sqs member: the finding's JSON, the SQS message body of
	// a raw-delivery subscription.
	Body string
}

// snsEnvelope is what SNS posts to an http subscriber. goaws writes
// attributes as Type/Value; SQS envelopes use DataType/StringValue.
type snsEnvelope struct {
	Type              string
	MessageId         string
	Subject           string
	Message           string
	SubscribeURL      string
	MessageAttributes map[string]struct {
		Type, Value, DataType, StringValue string
	}
}

// glue is the http subscriber: it takes each notification and keeps it
// for the pipeline to deliver. It answers at once, because goaws posts
// while the publisher waits.
type glue struct {
	URL  string
	srv  *http.Server
	done chan struct{}

	mu      sync.Mutex
	pending []Notification
	errs    []error
}

func startGlue() (*glue, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("glue: listen: %w", err)
	}
	g := &glue{URL: "http://" + l.Addr().String() + "/sns", done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sns", g.serve)
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(g.done)
		_ = g.srv.Serve(l)
	}()
	return g, nil
}

func (g *glue) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		g.fail(fmt.Errorf("read notification: %w", err))
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	var env snsEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		g.fail(fmt.Errorf("notification is not SNS's JSON: %w", err))
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	switch env.Type {
	case "SubscriptionConfirmation":
		// Subscriptions from goaws's configuration are confirmed; one
		// made by Subscribe is confirmed by visiting the URL.
		go g.confirm(env.SubscribeURL)
	case "Notification":
		n, err := notification(env)
		if err != nil {
			g.fail(err)
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.pending = append(g.pending, n)
		g.mu.Unlock()
	default:
		g.fail(fmt.Errorf("unexpected SNS message type %q", env.Type))
	}
	w.WriteHeader(http.StatusOK)
}

// notification takes the members apart as SNS would for each protocol:
// goaws passes the whole JSON message structure on.
func notification(env snsEnvelope) (Notification, error) {
	var m notify.Members
	if err := json.Unmarshal([]byte(env.Message), &m); err != nil {
		return Notification{}, fmt.Errorf("message %s is not a JSON message structure: %w", env.MessageId, err)
	}
	if m.Default == "" {
		return Notification{}, fmt.Errorf("message %s has no default member", env.MessageId)
	}
	n := Notification{
		MessageID:  env.MessageId,
		Subject:    env.Subject,
		Attributes: map[string]string{},
		Email:      orDefault(m.Email, m.Default),
		Body:       orDefault(m.SQS, m.Default),
	}
	for k, v := range env.MessageAttributes {
		n.Attributes[k] = orDefault(v.Value, v.StringValue)
	}
	return n, nil
}

func orDefault(member, def string) string {
	if member != "" {
		return member
	}
	return def
}

func (g *glue) confirm(u string) {
	resp, err := http.Get(u)
	if err != nil {
		g.fail(fmt.Errorf("confirm subscription: %w", err))
		return
	}
	resp.Body.Close()
}

func (g *glue) fail(err error) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.mu.Unlock()
}

// take returns and forgets the notifications received so far, and any
// error met receiving them.
func (g *glue) take() ([]Notification, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ns, err := g.pending, errors.Join(g.errs...)
	g.pending, g.errs = nil, nil
	return ns, err
}

func (g *glue) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.srv.Shutdown(ctx); err != nil {
		g.srv.Close()
	}
	<-g.done
}
