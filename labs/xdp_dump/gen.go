package xdpdump

//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf -type perf_event_item xdpDump xdp_dump.c -- -I../../bpf/include -O2 -g -Wall
