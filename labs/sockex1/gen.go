package sockex1

//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf sockex1 sockex1.c -- -I../../bpf/include -O2 -g -Wall
