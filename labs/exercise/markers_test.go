package exercise

import (
	"errors"
	"strings"
	"testing"
)

const marked = `//go:build ignore

int f(int x)
{
	int y = 0;
	/* xdplab:todo 1: double x */
	y = 2 * x;
	/* xdplab:else */
	// y = x; /* starter */
	//
	/* xdplab:end */
	/* xdplab:todo 2: add one,
	 * then return it */
	y += 1;
	/* xdplab:end */
	return y;
}
`

// TestDerive: the solution keeps the marked lines and drops the markers and
// the else lines; the starter has TODO comments, keeps the else lines and
// drops the solution's; the go:build line is in neither.
func TestDerive(t *testing.T) {
	p, err := Derive("f.c", []byte(marked))
	if err != nil {
		t.Fatal(err)
	}
	wantSol := `int f(int x)
{
	int y = 0;
	y = 2 * x;
	y += 1;
	return y;
}
`
	wantStart := `int f(int x)
{
	int y = 0;
	/* TODO 1: double x */
	y = x; /* starter */

	/* TODO 2: add one,
	 * then return it */
	return y;
}
`
	if string(p.Solution) != wantSol {
		t.Errorf("solution:\n%s\nwant:\n%s", p.Solution, wantSol)
	}
	if string(p.Starter) != wantStart {
		t.Errorf("starter:\n%s\nwant:\n%s", p.Starter, wantStart)
	}
	want := []Todo{{N: 1, Hint: "double x", Line: 4}, {N: 2, Hint: "add one, then return it", Line: 7}}
	if len(p.Todos) != len(want) {
		t.Fatalf("todos %+v, want %+v", p.Todos, want)
	}
	for i := range want {
		if p.Todos[i] != want[i] {
			t.Errorf("todo %d: %+v, want %+v", i, p.Todos[i], want[i])
		}
	}
	// The Line of each TODO is where its comment is in the starter.
	starter := strings.Split(string(p.Starter), "\n")
	for _, td := range p.Todos {
		if !strings.Contains(starter[td.Line-1], "TODO ") {
			t.Errorf("TODO %d: line %d of the starter is %q", td.N, td.Line, starter[td.Line-1])
		}
	}
}

// TestDeriveNoMarkers: a source without markers is its own starter.
func TestDeriveNoMarkers(t *testing.T) {
	src := "int x;\n/* xdplab is a tool */\n"
	p, err := Derive("x.c", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Solution) != src || string(p.Starter) != src || len(p.Todos) != 0 {
		t.Errorf("got %+v", p)
	}
}

// TestDeriveErrors: every malformed source is refused with file:line and
// the reason.
func TestDeriveErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"nested", "a\n/* xdplab:todo 1: one */\nb\n/* xdplab:todo 2: two */\n/* xdplab:end */\n",
			[]string{"f.c:4:", "inside the TODO opened at line 2", "do not nest"}},
		{"never closed", "a\n/* xdplab:todo 1: one */\nb\n",
			[]string{"f.c:2:", "never closed with /* xdplab:end */"}},
		{"end alone", "a\n/* xdplab:end */\n",
			[]string{"f.c:2:", "without a xdplab:todo before it"}},
		{"else alone", "a\n\t/* xdplab:else */\n",
			[]string{"f.c:2:", "outside a TODO"}},
		{"two elses", "/* xdplab:todo 1: one */\n/* xdplab:else */\n/* xdplab:else */\n/* xdplab:end */\n",
			[]string{"f.c:3:", "a second /* xdplab:else */ in the TODO opened at line 1"}},
		{"no number", "/* xdplab:todo: one */\n/* xdplab:end */\n",
			[]string{"f.c:1:", "/* xdplab:todo N: hint */"}},
		{"out of order", "/* xdplab:todo 2: two */\n/* xdplab:end */\n",
			[]string{"f.c:1:", "TODO 2 where TODO 1 comes next"}},
		{"no hint", "/* xdplab:todo 1:  */\n/* xdplab:end */\n",
			[]string{"f.c:1:", "TODO 1 has no hint"}},
		{"comment never ends", "x\n/* xdplab:todo 1: one\n * more\n",
			[]string{"f.c:2:", "never closed with */"}},
		{"code after the comment", "/* xdplab:todo 1: one */ x = 1;\n/* xdplab:end */\n",
			[]string{"f.c:1:", "stands alone on its lines"}},
		{"marker inside code", "x = 1; /* xdplab:end */\n",
			[]string{"f.c:1:", "a marker stands alone on its line"}},
		{"starter line not commented out", "/* xdplab:todo 1: one */\nx = 1;\n/* xdplab:else */\nx = 2;\n/* xdplab:end */\n",
			[]string{"f.c:4:", "commented out with //", "compiles as the solution"}},
		{"misspelt", "/* xdplab:todo 1: one */\n/* xdplab:ends */\n",
			[]string{"f.c:2:", "a marker stands alone on its line"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Derive("f.c", []byte(c.src))
			if !errors.Is(err, ErrMarker) {
				t.Fatalf("err %v, want ErrMarker", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}
