package hello

// One object per exercise: the base exercise's program, then each step's.
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf hello hello.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_whoami helloWhoami steps/whoami/hello.c -- -I../../bpf/include -O2 -g -Wall
//go:generate go tool bpf2go -cc clang -target bpfel -cflags "$BPF_CFLAGS" -output-stem bpf_count helloCount steps/count/hello.c -- -I../../bpf/include -O2 -g -Wall
