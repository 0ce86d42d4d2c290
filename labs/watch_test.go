package labs

import (
	"context"
	"testing"
	"time"
)

// TestEveryTakesWatchInterval: the interval WithInterval puts in the
// context replaces the one a lab's Watch names (an hour here: without the
// override, the test would time out after the first call).
func TestEveryTakesWatchInterval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = WithInterval(ctx, time.Millisecond)
	calls := 0
	err := Every(ctx, time.Hour, func() error {
		if calls++; calls == 3 {
			cancel()
		}
		return nil
	})
	if err != nil || calls < 3 {
		t.Errorf("Every: %d calls, err %v; want 3 calls", calls, err)
	}
}
