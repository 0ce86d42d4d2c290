package basicfirewall

// One object per exercise: the base exercise's program, then each step's.
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf basicFirewall basic_firewall.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_bytes basicFirewallBytes steps/bytes/basic_firewall.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_ipv6 basicFirewallIPv6 steps/ipv6/basic_firewall.c -- -I../../bpf/include -O2 -g -Wall
