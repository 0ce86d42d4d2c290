// Package include embeds the C headers lab programs include: xdplab's own
// (xdplab/*.h) and libbpf's (bpf/*.h), laid out as under an include directory.
package include

import "embed"

// FS holds xdplab/*.h and bpf/*.h (with bpf/README, libbpf's license note),
// rooted where `-I` points.
//
//go:embed xdplab/*.h bpf/*.h bpf/README
var FS embed.FS
