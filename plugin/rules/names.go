package rules

// Lower-case presentation names taken apart without allocation: parents, and whether a name is
// below another.

import (
	"strings"
)

// isSub reports whether the lower-case name is origin or below it.
func isSub(name, origin string) bool {
	if origin == "." || name == origin {
		return true
	}
	if len(name) <= len(origin) || !strings.HasSuffix(name, origin) || name[len(name)-len(origin)-1] != '.' {
		return false
	}
	// The dot before origin must not be an escaped one (a\.example.org. is not below example.org.).
	bs := 0
	for i := len(name) - len(origin) - 2; i >= 0 && name[i] == '\\'; i-- {
		bs++
	}
	return bs%2 == 0
}

func parent(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i := strings.IndexByte(name, '.')
	for i > 0 && escaped(name, i) {
		j := strings.IndexByte(name[i+1:], '.')
		if j < 0 {
			return "."
		}
		i += j + 1
	}
	if i+1 >= len(name) {
		return "."
	}
	return name[i+1:]
}

// escaped reports whether the character at i is escaped by an odd run of backslashes before it.
func escaped(name string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
