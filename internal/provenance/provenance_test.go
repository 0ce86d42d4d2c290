package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestEmbeddedAndFileDifferInKindAndSum(t *testing.T) {
	embedded := []byte("\x7fELF the lab's own program")
	learner := []byte("\x7fELF a learner's program")
	dir := t.TempDir()
	obj := filepath.Join(dir, "prog.o")
	if err := os.WriteFile(obj, learner, 0o644); err != nil {
		t.Fatal(err)
	}
	e := Embedded(embedded)
	if e.Kind != KindEmbedded || e.SHA256 != sum(embedded) || e.Obj != "" {
		t.Errorf("Embedded = %+v, want kind embedded, sha256 %s", e, sum(embedded))
	}
	// A relative path is recorded absolute: check may run from elsewhere.
	t.Chdir(dir)
	f, err := File("prog.o", "")
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != KindObj || f.Obj != obj || f.SHA256 != sum(learner) || f.Src != "" {
		t.Errorf("File = %+v, want kind obj, %s, sha256 %s", f, obj, sum(learner))
	}
	// What was hashed is what was there then: a rebuild changes the file,
	// not the origin already taken.
	os.WriteFile(obj, []byte("rebuilt"), 0o644)
	if f.SHA256 != sum(learner) {
		t.Error("origin changed with the file")
	}
	if got := f.String(); got != "obj "+obj+" (sha256 "+sum(learner)[:12]+")" {
		t.Errorf("String = %q", got)
	}
}

func TestSourceOrigin(t *testing.T) {
	dir := t.TempDir()
	src, obj := filepath.Join(dir, "fw.c"), filepath.Join(dir, "fw.o")
	os.WriteFile(src, []byte("int x;"), 0o644)
	os.WriteFile(obj, []byte("\x7fELF"), 0o644)
	o, err := File(obj, src)
	if err != nil {
		t.Fatal(err)
	}
	if o.Kind != KindSrc || o.Src != src || o.SrcSHA256 != sum([]byte("int x;")) || o.Obj != obj || o.SHA256 != sum([]byte("\x7fELF")) {
		t.Errorf("File(obj, src) = %+v", o)
	}
}

func TestFileMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone.o")
	_, err := File(missing, "")
	if err == nil || !strings.Contains(err.Error(), "read object "+missing+" to record its sha256") {
		t.Errorf("File(missing) = %v", err)
	}
}

func TestAttached(t *testing.T) {
	o := Attached(42, "a04f5eef06a7f555", "firewall")
	if o.Kind != KindAttached || o.String() != "attached prog 42 firewall (tag a04f5eef06a7f555)" {
		t.Errorf("Attached = %+v %q", o, o.String())
	}
}

func TestInvoker(t *testing.T) {
	t.Setenv("SUDO_USER", "learner7")
	t.Setenv("SUDO_UID", "1007")
	if u := Invoker(); u != (User{Name: "learner7", UID: 1007}) {
		t.Errorf("with sudo: %+v", u)
	}
	t.Setenv("SUDO_USER", "")
	u := Invoker()
	if u.UID != os.Getuid() {
		t.Errorf("without sudo: uid %d, want %d", u.UID, os.Getuid())
	}
	if pw, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil && u.Name != pw.Username {
		t.Errorf("without sudo: user %q, want %q", u.Name, pw.Username)
	}
}
