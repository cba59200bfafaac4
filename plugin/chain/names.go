package chain

// Name comparisons on the hot path. DNS names compare ignoring ASCII case only (RFC 4343 section
// 3); bytes outside ASCII are never folded, and miekg/dns keeps them escaped as \DDD anyway. These
// helpers allocate nothing, unlike strings.ToLower on a mixed-case (0x20) name or dns.IsSubDomain.

// Equal reports whether a and b are the same name ignoring ASCII case.
func Equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// In reports whether the fully qualified name is zone or below it.
func In(name, zone string) bool {
	if zone == "." {
		return true
	}
	n := len(name) - len(zone)
	if n < 0 || !Equal(name[n:], zone) {
		return false
	}
	if n == 0 {
		return true
	}
	// The suffix must start a label: the byte before it is a dot that is not itself escaped.
	if name[n-1] != '.' {
		return false
	}
	slashes := 0
	for i := n - 2; i >= 0 && name[i] == '\\'; i-- {
		slashes++
	}
	return slashes%2 == 0
}

// Lower lower-cases name's ASCII letters, allocating only when it holds an upper-case one.
func Lower(name string) string {
	for i := range len(name) {
		if 'A' <= name[i] && name[i] <= 'Z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return name
}

// Zones is a list of zones, lower-case and fully qualified: the one answer to "is this name
// ours" for every part of the plugin.
type Zones []string

// Match returns the longest zone of z that holds name, or "".
func (z Zones) Match(name string) string {
	best := ""
	for _, zone := range z {
		if len(zone) > len(best) && In(name, zone) {
			best = zone
		}
	}
	return best
}

// Holds reports whether a zone of z holds name.
func (z Zones) Holds(name string) bool {
	for _, zone := range z {
		if In(name, zone) {
			return true
		}
	}
	return false
}

// Apex reports whether name is the apex of the zone of z that holds it.
func (z Zones) Apex(name string) bool {
	m := z.Match(name)
	return m != "" && len(m) == len(name)
}
