package rules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var bigNumber = regexp.MustCompile(`[0-9]{5,}`)

// The zone file reader never panics, whatever the text; every record it returns has an absolute
// owner, every problem names the input and a line of it; and the rules run over what it read. Only
// an empty text and one that is not text are refused.
func FuzzParseZone(f *testing.F) {
	for _, glob := range []string{"testdata/*.example.org", "testdata/corpus/*.zone"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
	f.Add("$TTL 60\n@ SOA ns1 h 1 2 3 4 5\na ( TXT \"x\\\"\" ; c\n )\n\\# A 1.2.3.4\n$GENERATE 1-3/2 x${-1,3,n} CNAME y$$\n")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(strings.ToUpper(text), "$GENERATE") && bigNumber.MatchString(text) {
			return // a $GENERATE range this large makes a large zone, slowly: not this target's input
		}
		z, err := ParseZone(strings.NewReader(text), "example.org", "fuzz")
		if errors.Is(err, ErrEmpty) {
			// Empty means nothing came out, record or problem: one record more must come out, so a
			// reader that dropped what it read is not taken for an empty text.
			if _, err := ParseZone(strings.NewReader(text+"\n@ 60 IN TXT fuzz\n"), "example.org", "fuzz"); errors.Is(err, ErrEmpty) {
				t.Fatal("a record added to an empty text is not read either")
			}
			return
		}
		if errors.Is(err, ErrNotText) {
			return // said as such, by design
		}
		if err != nil {
			t.Fatal(err) // an origin is given: nothing else is fatal
		}
		lines := strings.Count(text, "\n") + 1
		for _, rr := range z.Records {
			if name := rr.Header().Name; !strings.HasSuffix(name, ".") {
				t.Errorf("relative owner %q in %v", name, rr)
			}
		}
		for _, p := range z.Problems {
			if p.File != "fuzz" || p.Line < 1 || p.Line > lines {
				t.Errorf("problem without a line of the input: %s", p.Located())
			}
		}
		Check(context.Background(), []Zone{z}, Config{MaxChain: 3})
	})
}
