// Package capture records packets at an XDP program's xdpcap hook (after it
// decided) or in front of it (before), filtered by tcpdump expressions that
// run in the kernel, and writes them as pcapng.
package capture

import (
	"fmt"
	"strings"
)

// Action is an XDP action, the index of its slot in an xdpcap hook; Entry is
// our own pseudo-action for packets captured before the program ran.
type Action uint32

// The XDP actions in the kernel's order (enum xdp_action), then Entry.
const (
	Aborted Action = iota
	Drop
	Pass
	TX
	Redirect
	Entry
)

// XDPActions are the actions an xdpcap hook has slots for, in slot order.
var XDPActions = []Action{Aborted, Drop, Pass, TX, Redirect}

var actionNames = [...]string{"aborted", "drop", "pass", "tx", "redirect", "entry"}

// String is the action's short name as xdpcap spells it ("pass").
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action%d", uint32(a))
}

// Interface is the pcapng interface name of the action, xdpcap's convention
// ("XDPpass"), so wireshark's interface column says what the program did.
func (a Action) Interface() string { return "XDP" + a.String() }

// ParseActions reads a comma-separated list such as "pass,drop"; xdpcap's
// names and the kernel's (XDP_PASS) are both accepted. Duplicates are
// dropped; the result is in slot order.
func ParseActions(list string) ([]Action, error) {
	seen := map[Action]bool{}
	for _, f := range strings.Split(list, ",") {
		name := strings.ToLower(strings.TrimSpace(f))
		name = strings.TrimPrefix(name, "xdp_")
		name = strings.TrimPrefix(name, "xdp")
		if name == "" {
			continue
		}
		found := false
		for _, a := range XDPActions {
			if a.String() == name {
				seen[a], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown xdp action %q: want some of aborted, drop, pass, tx, redirect", strings.TrimSpace(f))
		}
	}
	var out []Action
	for _, a := range XDPActions {
		if seen[a] {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no xdp action in %q: want some of aborted, drop, pass, tx, redirect", list)
	}
	return out, nil
}
