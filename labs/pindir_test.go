package labs

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestPinDirsOfManyInstances: instances come and go at the same time, as in
// a class, and the last one out removes the shared pin root. An up that
// makes its pin directory at that moment must not fail because the root
// went from under it.
func TestPinDirsOfManyInstances(t *testing.T) {
	root := filepath.Join(t.TempDir(), "xdplab")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Runner{Instance: "i" + strconv.Itoa(i), PinRoot: root}
			for range 300 {
				if err := r.makePinDir("packet_counter"); err != nil {
					errs <- err
					return
				}
				if err := r.removePinDir("packet_counter"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err, failed := <-errs; failed {
		t.Fatalf("%d instances failed, first: %v", len(errs)+1, err)
	}
}
