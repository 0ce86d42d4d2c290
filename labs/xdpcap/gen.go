package xdpcap

//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf xdpcap xdpcap.c -- -I../../bpf/include -O2 -g -Wall
