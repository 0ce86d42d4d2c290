package sockex1

//go:generate go tool bpf2go -cc clang -target bpfel -output-stem bpf sockex1 sockex1.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -O2 -g -Wall
