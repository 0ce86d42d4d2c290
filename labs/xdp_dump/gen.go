package xdpdump

//go:generate go tool bpf2go -cc clang -target bpfel -output-stem bpf -type perf_event_item xdpDump xdp_dump.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -O2 -g -Wall
