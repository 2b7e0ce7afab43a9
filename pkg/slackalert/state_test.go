package slackalert

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// TestHandleState: handlers sharing a state table (moto's DynamoDB) post
// a finding once, however often and in however many batches it comes; a
// failed post is posted by the retry; a table that cannot say posts anyway.
func TestHandleState(t *testing.T) {
	_, db := motostate.StartStateTable(t)
	f := func(id string) detect.Finding {
		return detect.Finding{Rule: detect.RulePublicInvoke, Severity: detect.Critical, EventID: id, ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:f", Principal: "*", Actor: "actor-" + id, Summary: "let anyone invoke f " + id}
	}
	handler := func(rec *recorder, logs *bytes.Buffer) *Handler {
		return &Handler{Poster: rec, State: state.New(db, "lambdawatch-state"), Log: slog.New(slog.NewJSONHandler(logs, nil))}
	}

	t.Run("the same finding in two batches, to two containers", func(t *testing.T) {
		rec := &recorder{}
		var logs bytes.Buffer
		for range 2 {
			resp, _ := handler(rec, &logs).Handle(t.Context(), event(t, body(t, f("e1"))))
			if len(resp.BatchItemFailures) != 0 {
				t.Errorf("failures %+v", resp.BatchItemFailures)
			}
		}
		if len(rec.got) != 1 || !strings.Contains(logs.String(), "finding posted before, skipped") {
			t.Errorf("%d posts, want 1 and the second skipped: %s", len(rec.got), logs.String())
		}
	})

	t.Run("a failed post is posted by the redelivery", func(t *testing.T) {
		rec := &recorder{fail: []string{"actor-e2"}}
		resp, _ := handler(rec, &bytes.Buffer{}).Handle(t.Context(), event(t, body(t, f("e2"))))
		if len(resp.BatchItemFailures) != 1 {
			t.Fatalf("failures %+v, want the message", resp.BatchItemFailures)
		}
		rec.fail = nil
		resp, _ = handler(rec, &bytes.Buffer{}).Handle(t.Context(), event(t, body(t, f("e2"))))
		if len(resp.BatchItemFailures) != 0 || len(rec.got) != 1 {
			t.Errorf("the redelivery: failures %+v, %d posts; want none and 1", resp.BatchItemFailures, len(rec.got))
		}
	})

	t.Run("a summary marks every finding it covers", func(t *testing.T) {
		rec := &recorder{}
		var bodies []string
		for i := range 7 {
			bodies = append(bodies, body(t, f("s"+string(rune('a'+i)))))
		}
		handler(rec, &bytes.Buffer{}).Handle(t.Context(), event(t, bodies...))
		first := len(rec.got)
		handler(rec, &bytes.Buffer{}).Handle(t.Context(), event(t, bodies...))
		if first == 0 || len(rec.got) != first {
			t.Errorf("%d posts, then %d after the same batch again; want no more", first, len(rec.got))
		}
	})

	t.Run("table unavailable: posted anyway", func(t *testing.T) {
		gone := motostate.DynamoDB("http://127.0.0.1:1", 1)
		rec := &recorder{}
		var logs bytes.Buffer
		h := &Handler{Poster: rec, State: state.New(gone, "lambdawatch-state"), Log: slog.New(slog.NewJSONHandler(&logs, nil))}
		h.Handle(t.Context(), event(t, body(t, f("e3"))))
		if len(rec.got) != 1 || !strings.Contains(logs.String(), state.LogUnavailable) {
			t.Errorf("%d posts, log %s; want the post and the state error", len(rec.got), logs.String())
		}
	})
}
