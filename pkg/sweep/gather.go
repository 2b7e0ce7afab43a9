package sweep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// A run that fans out, with the ledger, sends one digest for the whole
// run: each target's invocation stores its part of the digest in the
// state table and records its arrival; the invocation whose part arrives
// last claims the run's digest, gathers the parts and publishes it.
// Alerts and Security Hub imports stay with each target.
//
// A target redelivered after its part was stored does not audit again:
// it only arrives again (counted once) and, if last, publishes. A part
// that cannot be stored (the table out of reach, a part past DynamoDB's
// 400 KB) is published as the target's own digest instead, so that
// nothing waits on a table that cannot hold it; the run's digest then
// never completes, and says nothing of that target.

// newRun names a fanned-out run.
func newRun(s *Sweep) (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return s.now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b), nil
}

// gather audits a target of a fanned-out run and stores its part; the
// last part to arrive publishes the run's digest.
func (s *Sweep) gather(ctx context.Context, t Target) error {
	part := t.Account + "#" + t.Region
	_, stored, err := s.Ledger.Part(ctx, t.Run, part)
	if err != nil {
		s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit run", "run", t.Run, "part", part, "err", err)
	}
	if !stored {
		fs, errs := s.Audit(ctx, t.Account, []string{t.Region})
		s.logErrors(ctx, t.Account, errs)
		d, books, alertErr := s.report(ctx, t.Started, []string{t.Account}, []string{t.Region}, fs, map[string][]error{t.Account: errs})
		if alertErr != nil {
			// Retried whole: the part would say the news was told.
			s.remember(ctx, books, d.Started, false)
			return alertErr
		}
		body, err := json.Marshal(d)
		if err == nil {
			err = s.Ledger.PutPart(ctx, t.Run, part, body, s.now())
		}
		if err != nil {
			s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit run", "run", t.Run, "part", part,
				"err", fmt.Errorf("part not stored, published as a digest of its own: %w", err))
			return s.deliver(ctx, d, books)
		}
		s.remember(ctx, books, d.Started, true)
		s.importDigest(ctx, d)
	}
	arrived, err := s.Ledger.Arrive(ctx, t.Run, part, s.now())
	if err != nil {
		return err // redelivered, it arrives again without auditing
	}
	if len(arrived) < t.Of {
		s.log().InfoContext(ctx, "part of the run stored", "run", t.Run, "part", part, "arrived", len(arrived), "of", t.Of)
		return nil
	}
	return s.publishRun(ctx, t.Run, arrived, 0)
}

// closeRun publishes the digest of a run whose parts did not all arrive
// (a target in the dead-letter queue, or still on its way when the next
// run began), with what did, once: a run whose digest went out is left
// as it is.
func (s *Sweep) closeRun(ctx context.Context, prev ledger.Run) error {
	parts, err := s.Ledger.Arrivals(ctx, prev.ID)
	if err != nil {
		return err
	}
	if err := s.publishRun(ctx, prev.ID, parts, max(prev.Of-len(parts), 0)); err != nil {
		return fmt.Errorf("close run %s: %w", prev.ID, err)
	}
	return nil
}

// publishRun publishes one digest of the run's parts, once; missing
// counts the targets that never arrived.
func (s *Sweep) publishRun(ctx context.Context, run string, parts []string, missing int) error {
	claim, err := s.Claims.Claim(ctx, ledger.DigestKey(run))
	switch {
	case errors.Is(err, state.ErrDelivered):
		s.log().InfoContext(ctx, "run's digest published before", "run", run)
		return nil
	case errors.Is(err, state.ErrInProgress):
		return err // the other holder publishes, or the retry after its lease
	case err != nil:
		if missing > 0 {
			// Closing a run needs the claim: without it the run's digest
			// may have gone out already.
			return err
		}
		s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit run", "run", run, "err", err)
	}
	ds := make([]digest.Digest, 0, len(parts))
	lost := 0
	for _, p := range parts {
		body, ok, err := s.Ledger.Part(ctx, run, p)
		var d digest.Digest
		if err == nil && ok {
			err = json.Unmarshal(body, &d)
		} else if err == nil {
			err = errors.New("not stored")
		}
		if err != nil {
			// Its findings were alerted and imported with the target; the
			// digest counts it as unread rather than wait for it.
			lost++
			s.log().ErrorContext(ctx, "part of the run lost", "run", run, "part", p, "err", err)
			continue
		}
		ds = append(ds, d)
	}
	d := digest.Merge(ds)
	d.Unread += lost
	d.Missing = missing
	if err := s.publishDigest(ctx, d); err != nil {
		if rerr := claim.Release(ctx); rerr != nil {
			s.log().WarnContext(ctx, "claim not released: the retry waits for its lease", "run", run, "err", rerr)
		}
		return err
	}
	if err := claim.Done(ctx); err != nil {
		s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit run", "run", run, "err", fmt.Errorf("digest published, not marked: %w", err))
	}
	return nil
}
