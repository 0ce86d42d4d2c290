package labs

import (
	"context"
	"time"
)

// Every calls fn now and then once per interval until ctx ends; watch views
// use it. A nil-error return from ctx ending is the normal way out (Ctrl-C).
func Every(ctx context.Context, interval time.Duration, fn func() error) error {
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
