// Package zonegen writes large test zones of a realistic shape with a few planted CNAME mistakes,
// for the linter's scale measurements (bench/lintscale) and the rules' Go benchmark.
//
// The shape: of the generated records, 60% are A records, 30% CNAMEs to one of those names, 10%
// CNAMEs to one of those CNAMEs (two-hop chains), all named under Parents parent names that own no
// records themselves (empty non-terminals). Planted among them: a two-name CNAME loop, a 12-hop
// chain, a CNAME beside a TXT record, and a CNAME target written without its trailing dot.
package zonegen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
)

// Options shape a zone.
type Options struct {
	// Records is the number of records to write (at least 64; the planted ones included).
	Records int
	// Origin is the zone's name; "" means example.org.
	Origin string
	// Parents is the number of parent names the generated names spread under; 0 means 97.
	Parents int
	// Seed makes the choice of CNAME targets repeatable.
	Seed uint64
}

// Planted are the findings cnamelint must report for a generated zone, without a resolver, as
// "severity rule owner", in the linter's order (by owner, then rule).
func Planted(origin string) []string {
	if origin == "" {
		origin = "example.org."
	}
	return []string{
		"error cname-and-other-data both." + origin,
		"warning chain-too-long chain0." + origin,
		"error cname-loop loop-a." + origin,
		"warning dangling-cname shop." + origin,
		"error relative-name shop." + origin,
	}
}

// Write writes a zone in master file format to w.
func Write(w io.Writer, o Options) error {
	if o.Origin == "" {
		o.Origin = "example.org."
	}
	if o.Parents <= 0 {
		o.Parents = 97
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "$ORIGIN %s\n$TTL 3600\n", o.Origin)
	fmt.Fprintf(bw, "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n")
	planted := make([]string, 0, 18)
	planted = append(planted,
		"loop-a IN CNAME loop-b",
		"loop-b IN CNAME loop-a",
		"both IN CNAME n0.p0",
		"both IN TXT \"beside a CNAME\"",
		"shop IN CNAME shops.myplatform.com",
	)
	for i := range 12 {
		planted = append(planted, fmt.Sprintf("chain%d IN CNAME chain%d", i, i+1))
	}
	planted = append(planted, "chain12 IN A 192.0.2.12")
	n := max(o.Records-3-len(planted), 0)
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed)) // #nosec G404 -- test zones, the same for the same seed
	// Of every ten names, 0-5 own A records, 6-8 CNAMEs to an A name, 9 a CNAME to a CNAME.
	pick := func(kinds ...int) int {
		for {
			i := rng.IntN(max(n, 10))
			if i < n && containsKind(kinds, i%10) {
				return i
			}
		}
	}
	step := max(n/len(planted), 1)
	p := 0
	for i := range n {
		if i%step == step/2 && p < len(planted) {
			fmt.Fprintln(bw, planted[p])
			p++
		}
		switch k := i % 10; {
		case k <= 5:
			fmt.Fprintf(bw, "n%d.p%d IN A 10.%d.%d.%d\n", i, i%o.Parents, i>>16&255, i>>8&255, i&255)
		case k <= 8:
			j := pick(0, 1, 2, 3, 4, 5)
			fmt.Fprintf(bw, "n%d.p%d IN CNAME n%d.p%d\n", i, i%o.Parents, j, j%o.Parents)
		default:
			j := pick(6, 7, 8)
			fmt.Fprintf(bw, "n%d.p%d IN CNAME n%d.p%d\n", i, i%o.Parents, j, j%o.Parents)
		}
	}
	for ; p < len(planted); p++ {
		fmt.Fprintln(bw, planted[p])
	}
	return bw.Flush()
}

func containsKind(kinds []int, k int) bool {
	return slices.Contains(kinds, k)
}
