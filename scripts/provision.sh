#!/usr/bin/env bash
# Installs what xdplab needs on a fresh Debian/Ubuntu machine (or Vagrant VM)
# and mounts bpffs. Idempotent: a second run only checks. Used by the
# Vagrantfile, by `make deps` and by CI, so the learner's setup path is tested.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "provision.sh: run as root (sudo)" >&2
	exit 2
fi

# Build: no C toolchain (CGO_ENABLED=0). clang, llvm and the kernel's uapi
# headers (linux-libc-dev) for `make generate` and for a learner's `xdplab
# build`; libbpf's headers are vendored in bpf/include. Run time: libpcap, which xdplab loads to compile capture
# filters (the tests compile them too). Tests: tcpdump, bpftool and ping as
# independent witnesses, graphviz (dot) to read what `xdplab topo` draws,
# python3 for the listener the xdp_dump guide starts (the guide test runs it).
pkgs=(clang llvm linux-libc-dev make git iproute2 tcpdump iputils-ping graphviz ca-certificates curl python3)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v bpftool >/dev/null 2>&1; then
	missing+=(bpftool)
fi
# Checked by soname: the package is libpcap0.8, renamed libpcap0.8t64 in
# Debian 13 and Ubuntu 24.04.
if ! ldconfig -p | grep -q 'libpcap\.so\.0\.8 '; then
	missing+=(libpcap)
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "provision: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if printf '%s\n' "${missing[@]}" | grep -qx libpcap; then
		pcap=libpcap0.8
		apt-cache show libpcap0.8t64 >/dev/null 2>&1 && pcap=libpcap0.8t64
		missing=("${missing[@]/#libpcap/$pcap}")
	fi
	# Debian ships bpftool as its own package; Ubuntu in linux-tools.
	if printf '%s\n' "${missing[@]}" | grep -qx bpftool; then
		apt-get install -y -qq bpftool >/dev/null 2>&1 ||
			apt-get install -y -qq "linux-tools-$(uname -r)" linux-tools-common >/dev/null 2>&1 ||
			echo "provision: no bpftool package for this kernel (tests that use it as a witness fall back)"
		missing=("${missing[@]/bpftool/}")
	fi
	apt-get install -y -qq ${missing[@]} >/dev/null
fi

# Tests read the --junit files as CI systems do: junitparser (a JUnit tool
# that merges files) and xmllint (libxml2-utils) against a JUnit schema. A
# learner's machine can do without them, so a release that lacks them only
# warns; the tests that need them fail under XDPLAB_REQUIRE_PRIVILEGED=1.
junit_tools=()
command -v junitparser >/dev/null 2>&1 || junit_tools+=(junitparser)
command -v xmllint >/dev/null 2>&1 || junit_tools+=(libxml2-utils)
if [ ${#junit_tools[@]} -gt 0 ]; then
	echo "provision: installing ${junit_tools[*]} (for the tests)"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq "${junit_tools[@]}" >/dev/null; } ||
		echo "provision: could not install ${junit_tools[*]}: the JUnit merge test will fail"
fi

# Go: a fresh Vagrant box has none. Machines that have Go keep theirs.
GO_VERSION=${GO_VERSION:-1.26.8}
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	arch=$(dpkg --print-architecture)
	echo "provision: installing Go ${GO_VERSION} (${arch})"
	curl -fsSL "https://go.dev/dl/go${GO_VERSION}.linux-${arch}.tar.gz" | tar -C /usr/local -xz
	ln -sf /usr/local/go/bin/go /usr/local/bin/go
fi

# bpffs: pinned programs and maps (what lets `xdplab up` exit) live there.
if ! mountpoint -q /sys/fs/bpf; then
	echo "provision: mounting bpffs at /sys/fs/bpf"
	mount -t bpf bpf /sys/fs/bpf
fi
echo "provision: ok"
