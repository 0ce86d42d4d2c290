package packetcounter

// One object per exercise: the base exercise's program, then each step's.
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf packetCounter packet_counter.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_drop_icmp packetCounterDropICMP steps/drop_icmp/packet_counter.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_ipv6 packetCounterIPv6 steps/ipv6/packet_counter.c -- -I../../bpf/include -O2 -g -Wall
