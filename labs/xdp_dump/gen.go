package xdpdump

// One object per exercise: the base exercise's program, then each step's.
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf -type perf_event_item xdpDump xdp_dump.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_syn_ack xdpDumpSynAck steps/syn_ack/xdp_dump.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_headers xdpDumpHeaders steps/headers/xdp_dump.c -- -I../../bpf/include -O2 -g -Wall
