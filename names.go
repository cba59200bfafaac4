package flatten

// Name comparisons on the hot path. DNS names compare ignoring ASCII case only (RFC 4343 section
// 3); bytes outside ASCII are never folded, and miekg/dns keeps them escaped as \DDD anyway. These
// helpers allocate nothing, unlike strings.ToLower on a mixed-case (0x20) name or dns.IsSubDomain.

// equalFold reports whether a and b are the same name ignoring ASCII case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
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

// inZone reports whether the fully qualified name is zone or below it.
func inZone(name, zone string) bool {
	if zone == "." {
		return true
	}
	n := len(name) - len(zone)
	if n < 0 || !equalFold(name[n:], zone) {
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

// lowerASCII lower-cases name, allocating only when it holds an upper-case letter.
func lowerASCII(name string) string {
	for i := 0; i < len(name); i++ {
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
