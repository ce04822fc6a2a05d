package tsaclient

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// ConfigMonitor reloads the shaping data every Interval and bumps the
// config epoch when its hash changes. The last-seen hash starts empty, so
// the first successful load bumps once. A failed load is logged and the
// loop goes on.
type ConfigMonitor struct {
	// Load returns the current shaping data's hash (typically through
	// the memoized loader that includes the daemons' shaping.toml).
	Load func(ctx context.Context) (hash string, err error)
	// Bump bumps the config epoch.
	Bump func()
	// Interval: 0 means DefaultMonitorInterval.
	Interval time.Duration
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// Run runs the loop until ctx is done, then returns ctx.Err().
func (m *ConfigMonitor) Run(ctx context.Context) error {
	interval := m.Interval
	if interval <= 0 {
		interval = DefaultMonitorInterval
	}
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Info("TSA config monitor running")
	last := ""
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		hash, err := m.Load(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Error(fmt.Sprintf("TSA Error, will retry in %s", humanSeconds(interval)), "error", err)
		case hash != last:
			log.Info("TSA config changed")
			last = hash
			m.Bump()
		}
		t.Reset(interval)
	}
}

// humanSeconds words a retry delay as KumoMTA's log lines do ("30 seconds").
func humanSeconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d seconds", int64(d/time.Second))
	}
	return d.String()
}
