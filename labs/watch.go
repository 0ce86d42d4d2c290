package labs

import (
	"context"
	"time"
)

// intervalKey carries `watch --interval` to Every.
type intervalKey struct{}

// WithInterval returns a context in which Every ticks every d instead of
// the interval its caller names: `watch --interval` reaches every lab's
// view this way, with no change to the labs' Watch methods.
func WithInterval(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, intervalKey{}, d)
}

// Every calls fn now and then once per interval (or the one WithInterval
// put in ctx) until ctx ends; watch views use it. A nil-error return from
// ctx ending is the normal way out (Ctrl-C).
func Every(ctx context.Context, interval time.Duration, fn func() error) error {
	if d, ok := ctx.Value(intervalKey{}).(time.Duration); ok && d > 0 {
		interval = d
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := fn(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
