package labs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/course"
	packetcounter "github.com/xdplab/xdplab/labs/packet_counter"
)

func TestRegistry(t *testing.T) {
	r := labs.NewRegistry()
	if err := r.Register(packetcounter.New()); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(packetcounter.New()); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Errorf("duplicate: %v", err)
	}
	_, err := r.Get("packet_countr")
	if !errors.Is(err, labs.ErrUnknownLab) || !strings.Contains(err.Error(), "valid labs are packet_counter") {
		t.Errorf("unknown: %v", err)
	}
}

func TestCourseOrder(t *testing.T) {
	want := []string{"packet_counter", "xdp_dump", "basic_firewall", "redirect", "xdpcap", "sockex1"}
	got := course.Registry().Names()
	// Labs land one by one: the ones present must keep the course order.
	i := 0
	for _, g := range got {
		for i < len(want) && want[i] != g {
			i++
		}
		if i == len(want) {
			t.Fatalf("labs %v are not in course order %v", got, want)
		}
	}
	for _, l := range course.Registry().All() {
		if l.Summary() == "" || !strings.HasPrefix(l.Guide(), "# ") || strings.Contains(l.Guide(), "No guide yet") {
			t.Errorf("lab %s lacks a summary or guide", l.Name())
		}
	}
}

// TestLabTopologies: every lab's topology decodes and validates, which
// Register leaves out so that no command start pays for it.
func TestLabTopologies(t *testing.T) {
	for _, l := range course.Registry().All() {
		if err := l.Topology().Validate(); err != nil {
			t.Errorf("lab %s: %v", l.Name(), err)
		}
	}
}

func TestErrorf(t *testing.T) {
	inner := errors.New("inner")
	err := labs.Errorf(labs.ErrUsage, "bad thing: %w", inner)
	if err.Error() != "bad thing: inner" || !errors.Is(err, labs.ErrUsage) || !errors.Is(err, inner) {
		t.Errorf("Errorf = %q (is usage %v, is inner %v)", err, errors.Is(err, labs.ErrUsage), errors.Is(err, inner))
	}
}

func TestExpect(t *testing.T) {
	if r := labs.Expect("x", 3, uint64(3), "hint"); !r.Pass || r.Hint != "" {
		t.Errorf("equal values: %+v", r)
	}
	if r := labs.Expect("x", 3, 2, "hint"); r.Pass || r.Hint != "hint" {
		t.Errorf("different values: %+v", r)
	}
}
