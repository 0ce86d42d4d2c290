package redirect

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdplab/xdplab/labs"
	"github.com/xdplab/xdplab/labs/grade"
)

// swapper swaps the program in node1's pinned links and back. Replacing the
// program of a bpf_link is atomic and keeps the link, its pin and its mode,
// so the lab is left attached exactly as `up` made it.
type swapper struct {
	links []link.Link
	lab   *ebpf.Program // the pinned xdp_test (or the learner's)
	pass  *ebpf.Program
}

func openSwapper(env *labs.Env) (*swapper, error) {
	s := &swapper{}
	var err error
	if s.lab, err = ebpf.LoadPinnedProgram(env.Pin(progPin), nil); err != nil {
		return nil, fmt.Errorf("open pinned program %s: %w", progName, err)
	}
	for _, iface := range reflectors {
		l, err := link.LoadPinnedLink(env.Pin(reflectorPin(iface)), nil)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open xdp link of node1/%s: %w", iface, err)
		}
		s.links = append(s.links, l)
	}
	if s.pass, err = grade.PassProgram(ebpf.AttachXDP); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *swapper) use(p *ebpf.Program) error {
	for i, l := range s.links {
		err := l.Update(p)
		if errors.Is(err, unix.EINVAL) && p == s.pass {
			// The lab program was loaded without an expected attach
			// type; so must its stand-in be.
			if err = s.passWithoutAttachType(); err == nil {
				p = s.pass
				err = l.Update(p)
			}
		}
		if err != nil {
			return fmt.Errorf("replace program on node1/%s: %w", reflectors[i], err)
		}
	}
	return nil
}

func (s *swapper) passWithoutAttachType() error {
	pass, err := grade.PassProgram(ebpf.AttachNone)
	if err != nil {
		return err
	}
	s.pass.Close()
	s.pass = pass
	return nil
}

// restore puts the lab's program back; it also repairs links left running
// xdp_pass by a check that was killed half-way.
func (s *swapper) restore() error { return s.use(s.lab) }

func (s *swapper) Close() {
	for _, l := range s.links {
		l.Close() // closes our fd; the pin keeps the link
	}
	if s.lab != nil {
		s.lab.Close()
	}
	if s.pass != nil {
		s.pass.Close()
	}
}
