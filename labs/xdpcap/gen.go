package xdpcap

//go:generate go tool bpf2go -cc clang -target bpfel -output-stem bpf xdpcap xdpcap.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -O2 -g -Wall
