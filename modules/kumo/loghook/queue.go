package loghook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
)

// queue is one scheduled queue and its delivery worker: one session at a
// time, opened when messages are due and ended when none are (or when a
// send fails with an error other than a rejection).
type queue struct {
	p     *Pipeline
	name  string
	qn    QueueName
	cfg   *egress.QueueConfig
	stats QueueStats // guarded by p.mu

	mu      sync.Mutex
	pending []*Message
	wake    chan struct{}
}

func newQueue(p *Pipeline, name string, qn QueueName, cfg *egress.QueueConfig) *queue {
	return &queue{p: p, name: name, qn: qn, cfg: cfg, wake: make(chan struct{}, 1)}
}

func (q *queue) insert(m *Message) {
	now := q.p.opts.Clock.Now()
	m.created, m.due = now, now
	q.p.count(func() { q.stats.Enqueued++; q.stats.Queued++ })
	q.mu.Lock()
	q.pending = append(q.pending, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// takeDue removes and returns the messages due at now, oldest due first,
// and the earliest due time of those left.
func (q *queue) takeDue(now time.Time) (due []*Message, next time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	keep := q.pending[:0]
	for _, m := range q.pending {
		if !m.due.After(now) {
			due = append(due, m)
		} else {
			keep = append(keep, m)
			if next.IsZero() || m.due.Before(next) {
				next = m.due
			}
		}
	}
	clear(q.pending[len(keep):])
	q.pending = keep
	sort.SliceStable(due, func(i, j int) bool { return due[i].due.Before(due[j].due) })
	return due, next
}

func (q *queue) putBack(ms ...*Message) {
	q.mu.Lock()
	q.pending = append(q.pending, ms...)
	q.mu.Unlock()
}

func (q *queue) run(ctx context.Context) {
	var sess Session
	endSession := func() {
		if sess != nil {
			_ = safely(func() error { sess.Close(); return nil })
			sess = nil
		}
	}
	defer endSession()
	defer func() {
		// Closing: whatever is left is dropped.
		q.mu.Lock()
		left := q.pending
		q.pending = nil
		q.mu.Unlock()
		for _, m := range left {
			m.release()
		}
	}()
	clock := q.p.opts.Clock
	for ctx.Err() == nil {
		due, next := q.takeDue(clock.Now())
		if len(due) == 0 {
			endSession()
			var timer <-chan time.Time
			if !next.IsZero() {
				timer = clock.After(next.Sub(clock.Now()))
			}
			select {
			case <-q.wake:
			case <-timer:
			case <-ctx.Done():
			}
			continue
		}
		for i, m := range due {
			if ctx.Err() != nil {
				q.putBack(due[i:]...)
				return
			}
			if sess == nil {
				var s Session
				err := safely(func() (err error) {
					s, err = q.p.opts.Policy.Connect(ctx, q.qn, q.cfg.Protocol.CustomLua)
					return err
				})
				if err != nil {
					if ctx.Err() != nil {
						q.putBack(due[i:]...)
						return
					}
					// Every due message fails this attempt.
					for _, m := range due[i:] {
						q.transient(m, fmt.Sprintf("400 KumoMTA internal: failed to connect: %v", err))
					}
					break
				}
				sess = s
			}
			var disp string
			err := safely(func() (err error) {
				disp, err = sess.Send(ctx, m)
				return err
			})
			if ctx.Err() != nil {
				q.putBack(due[i:]...)
				return
			}
			var rej *Rejection
			switch {
			case err == nil:
				q.p.count(func() { q.stats.Delivered++; q.stats.Queued-- })
				q.p.opts.Logger.Debug(fmt.Sprintf("queue %s: delivered %s: %s", q.name, m.id, disp))
				m.release()
			case errors.As(err, &rej) && rej.Transient():
				q.transient(m, rej.Error())
			case errors.As(err, &rej):
				q.p.count(func() { q.stats.Permanent++; q.stats.Queued-- })
				q.p.opts.Logger.Warn(fmt.Sprintf("queue %s: permanent failure for %s, dropped: %s", q.name, m.id, rej.Error()))
				m.release()
			default:
				q.transient(m, "400 KumoMTA internal: error in deliver_message: "+err.Error())
				endSession()
				// The rest are still due: a new session takes them.
				q.putBack(due[i+1:]...)
			}
			if err != nil && rej == nil {
				break
			}
		}
	}
}

// transient counts a failed attempt and schedules the retry, or expires
// the message when the retry would come after max_age.
func (q *queue) transient(m *Message, why string) {
	now := q.p.opts.Clock.Now()
	m.mu.Lock()
	m.attempts++
	attempts := m.attempts
	m.mu.Unlock()
	delay := q.retryDelay(attempts - 1)
	if now.Add(delay).Sub(m.created) >= q.cfg.MaxAge {
		q.p.count(func() { q.stats.Transient++; q.stats.Permanent++; q.stats.Expired++; q.stats.Queued-- })
		q.p.opts.Logger.Warn(fmt.Sprintf("queue %s: %s expired after %d attempts (max_age %s), dropped; last failure: %s", q.name, m.id, attempts, q.cfg.MaxAge, why))
		m.release()
		return
	}
	q.p.count(func() { q.stats.Transient++ })
	q.p.opts.Logger.Info(fmt.Sprintf("queue %s: transient failure for %s (attempt %d), retry in %s: %s", q.name, m.id, attempts, delay, why))
	m.due = now.Add(delay)
	q.putBack(m)
}

// retryDelay is retry_interval × 2^prior, capped at max_retry_interval, in
// whole seconds, with jitter of ±min(retry_interval/40, 30s).
func (q *queue) retryDelay(prior int) time.Duration {
	base := q.cfg.RetryInterval
	d := base
	for i := 0; i < prior; i++ {
		d *= 2
		if (q.cfg.MaxRetryInterval != nil && d >= *q.cfg.MaxRetryInterval) || d > 100*365*24*time.Hour {
			break
		}
	}
	if q.cfg.MaxRetryInterval != nil && d > *q.cfg.MaxRetryInterval {
		d = *q.cfg.MaxRetryInterval
	}
	d = d.Truncate(time.Second)
	limit := min(base/40, 30*time.Second)
	d += q.p.opts.Jitter(limit)
	return max(d, 0).Truncate(time.Second)
}

// safely runs f, turning a panic in the policy's code into an error.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return f()
}
