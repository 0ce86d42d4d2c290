package redirect

// One object per exercise: the base exercise's program, then each step's.
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf redirect redirect.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_udp redirectUDP steps/udp/redirect.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_arp redirectARP steps/arp/redirect.c -- -I../../bpf/include -O2 -g -Wall
