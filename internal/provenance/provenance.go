// Package provenance says who ran a command and where the program it graded
// came from, for reports and for the instance's state.
package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// Kind names where a lab's program came from.
type Kind string

const (
	// KindEmbedded is the lab's reference program, built into xdplab.
	KindEmbedded Kind = "embedded"
	// KindObj is an object file the learner gave with --obj.
	KindObj Kind = "obj"
	// KindSrc is a C source the learner gave with --src, which xdplab built.
	KindSrc Kind = "src"
	// KindAttached is a program the learner loaded and attached with their
	// own loader (up --bare), found where the lab attaches.
	KindAttached Kind = "attached"
)

// Origin is where the program a lab ran came from. Two reports with the same
// sha256 graded the same object, whatever its path.
type Origin struct {
	Kind Kind `json:"kind"`
	// Obj is the object file loaded, absolute: --obj's, or the one --src
	// built.
	Obj string `json:"obj,omitempty"`
	// SHA256 is the hex sha256 of the object loaded: the embedded bytes,
	// or the file's as it was when the lab came up.
	SHA256 string `json:"sha256,omitempty"`
	// Src and SrcSHA256 are the learner's C source (--src), absolute.
	Src       string `json:"src,omitempty"`
	SrcSHA256 string `json:"src_sha256,omitempty"`
	// ProgID, Tag and Program name a program the learner attached (bare
	// mode): the kernel's id and tag (the hash of its instructions, as
	// bpftool shows it) and its name.
	ProgID  uint32 `json:"prog_id,omitempty"`
	Tag     string `json:"tag,omitempty"`
	Program string `json:"program,omitempty"`
}

// Sum is the hex sha256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Embedded is the origin of a lab's built-in program, obj its bytes.
func Embedded(obj []byte) Origin {
	o := Origin{Kind: KindEmbedded}
	if len(obj) > 0 {
		o.SHA256 = Sum(obj)
	}
	return o
}

// File is the origin of a program loaded from the object file obj; src is the
// C source it was built from (--src), or "" for an object given as is
// (--obj). Both files are read and hashed now: a later rebuild does not
// change what a lab that is up was loaded with.
func File(obj, src string) (Origin, error) {
	o := Origin{Kind: KindObj}
	var err error
	if o.Obj, o.SHA256, err = hashFile("object", obj); err != nil {
		return Origin{}, err
	}
	if src != "" {
		o.Kind = KindSrc
		if o.Src, o.SrcSHA256, err = hashFile("source", src); err != nil {
			return Origin{}, err
		}
	}
	return o, nil
}

func hashFile(what, path string) (abs, sum string, err error) {
	abs, err = filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("%s %s: %w", what, path, err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return "", "", fmt.Errorf("read %s %s to record its sha256: %w", what, abs, err)
	}
	return abs, Sum(b), nil
}

// Attached is the origin of a program the learner attached themselves.
func Attached(id uint32, tag, program string) Origin {
	return Origin{Kind: KindAttached, ProgID: id, Tag: tag, Program: program}
}

// String is the origin in a few words for people: "embedded (sha256
// 1a2b3c4d5e6f)", "obj /home/ann/fw.o (sha256 ...)", "src /home/ann/fw.c
// (sha256 ...)", "attached prog 42 firewall (tag ...)".
func (o Origin) String() string {
	short := func(s string) string { return s[:min(12, len(s))] }
	switch o.Kind {
	case KindEmbedded:
		if o.SHA256 == "" {
			return "embedded"
		}
		return fmt.Sprintf("embedded (sha256 %s)", short(o.SHA256))
	case KindObj:
		return fmt.Sprintf("obj %s (sha256 %s)", o.Obj, short(o.SHA256))
	case KindSrc:
		return fmt.Sprintf("src %s (sha256 %s, built %s)", o.Src, short(o.SrcSHA256), short(o.SHA256))
	case KindAttached:
		s := fmt.Sprintf("attached prog %d", o.ProgID)
		if o.Program != "" {
			s += " " + o.Program
		}
		if o.Tag != "" {
			s += " (tag " + o.Tag + ")"
		}
		return s
	case "":
		return "unknown"
	}
	return string(o.Kind)
}

// User is a person on the machine: the one who ran a command.
type User struct {
	Name string `json:"user"`
	UID  int    `json:"uid"`
}

// Invoker is who ran this process: the user who called sudo (SUDO_USER,
// SUDO_UID) rather than root, or else the process's own user. On a shared
// machine every learner runs xdplab as root through sudo, and only sudo's
// variables tell them apart.
func Invoker() User {
	if name := os.Getenv("SUDO_USER"); name != "" {
		u := User{Name: name, UID: -1}
		if id, err := strconv.Atoi(os.Getenv("SUDO_UID")); err == nil {
			u.UID = id
		} else if pw, err := user.Lookup(name); err == nil {
			u.UID, _ = strconv.Atoi(pw.Uid)
		}
		return u
	}
	u := User{UID: os.Getuid()}
	if pw, err := user.LookupId(strconv.Itoa(u.UID)); err == nil {
		u.Name = pw.Username
	} else if name := os.Getenv("USER"); name != "" {
		u.Name = name
	} else {
		u.Name = strconv.Itoa(u.UID) // a uid with no passwd entry (a container)
	}
	return u
}

// Hostname is the machine's name, or "localhost" when the kernel has none
// to give (JUnit readers want one).
func Hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
