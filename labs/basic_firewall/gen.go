package basicfirewall

//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf basicFirewall basic_firewall.c -- -I../../bpf/include -O2 -g -Wall
