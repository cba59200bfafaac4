package rules

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dnsflatten/flatten/bench/zonegen"
)

// generated writes a zonegen zone of n records.
func generated(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := zonegen.Write(&buf, zonegen.Options{Records: n}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// Check over a 100,000-record zone; the planted findings must come out. The whole linter's scale
// against named-checkzone is measured by go run ./bench/lintscale.
func BenchmarkCheck100k(b *testing.B) {
	z, err := ParseZone(bytes.NewReader(generated(b, 100_000)), "", "generated")
	if err != nil {
		b.Fatal(err)
	}
	fs := Check(context.Background(), []Zone{z}, Config{})
	got := make([]string, 0, len(fs))
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s %s %s", f.Severity, f.Rule, f.Owner))
	}
	if want := zonegen.Planted(""); !slices.Equal(got, want) {
		b.Fatalf("findings %v, want %v", got, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		Check(context.Background(), []Zone{z}, Config{})
	}
}

// Reading a 100,000-record zone file.
func BenchmarkParseZone100k(b *testing.B) {
	text := generated(b, 100_000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		z, err := ParseZone(bytes.NewReader(text), "", "generated")
		if err != nil || len(z.Records) != 100_000 || len(z.Problems) > 0 {
			b.Fatalf("%d records, %v %v", len(z.Records), z.Problems, err)
		}
	}
}
