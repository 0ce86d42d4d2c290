package icmpdrop

// One object per exercise: the base exercise's program, then each step's.
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf icmpDrop icmp_drop.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_veth1 icmpDropVeth1 steps/veth1/icmp_drop.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_echo_request icmpDropEchoRequest steps/echo_request/icmp_drop.c -- -I../../bpf/include -O2 -g -Wall
