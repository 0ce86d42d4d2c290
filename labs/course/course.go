// Package course lists xdplab's labs in the order the course teaches them.
package course

import (
	"github.com/xdplab/xdplab/labs"
	basicfirewall "github.com/xdplab/xdplab/labs/basic_firewall"
	"github.com/xdplab/xdplab/labs/hello"
	icmpdrop "github.com/xdplab/xdplab/labs/icmp_drop"
	packetcounter "github.com/xdplab/xdplab/labs/packet_counter"
	"github.com/xdplab/xdplab/labs/redirect"
	"github.com/xdplab/xdplab/labs/sockex1"
	tcpconnect "github.com/xdplab/xdplab/labs/tcp_connect"
	xdpdump "github.com/xdplab/xdplab/labs/xdp_dump"
	"github.com/xdplab/xdplab/labs/xdpcap"
)

// Registry returns every lab, in course order.
func Registry() *labs.Registry {
	r := labs.NewRegistry()
	for _, l := range []labs.Lab{
		icmpdrop.New(),
		packetcounter.New(),
		xdpdump.New(),
		basicfirewall.New(),
		redirect.New(),
		xdpcap.New(),
		sockex1.New(),
		hello.New(),
		tcpconnect.New(),
	} {
		if err := r.Register(l); err != nil {
			panic(err) // a programming error: two labs with one name
		}
	}
	return r
}
