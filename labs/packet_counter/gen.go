package packetcounter

//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf packetCounter packet_counter.c -- -I../../bpf/include -O2 -g -Wall
