package rules

// The zone name in a zone file's name, for zones read without an origin.

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// OriginFromFileName reads the zone name in a zone file's name, as zone files are commonly named:
// db.example.org, named.example.org, example.org.zone, example.org.db, example.org, and
// db.192.168.1 for 1.168.192.in-addr.arpa. It returns the name with its trailing dot, and false
// when the file's name holds no zone name (at least two labels, the last a top-level name).
func OriginFromFileName(path string) (string, bool) {
	name := strings.ToLower(filepath.Base(path))
	prefixes := []string{"db", "named", "zone", "pri", "primary", "master", "sec", "secondary", "slave"}
	suffixes := []string{"zone", "db", "dns", "hosts", "signed", "txt", "conf", "bak", "old", "orig", "tmp", "jnl"}
	for changed := true; changed; {
		changed = false
		for _, p := range prefixes {
			if rest, ok := strings.CutPrefix(name, p+"."); ok && strings.Contains(rest, ".") {
				name, changed = rest, true
			}
		}
		for _, s := range suffixes {
			if rest, ok := strings.CutSuffix(name, "."+s); ok && strings.Contains(rest, ".") {
				name, changed = rest, true
			}
		}
	}
	name = strings.TrimSuffix(name, ".")
	labels := strings.Split(name, ".")
	if len(labels) < 2 || slices.Contains(prefixes, labels[0]) || slices.Contains(suffixes, labels[len(labels)-1]) {
		return "", false // zone.txt, db.local, named.conf
	}
	if allDecimal(labels) && len(labels) <= 3 { // db.192.168.1: a reverse zone
		rev := make([]string, len(labels))
		for i, l := range labels {
			rev[len(labels)-1-i] = l
		}
		return strings.Join(rev, ".") + ".in-addr.arpa.", true
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return "", false
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") != "" && !strings.HasPrefix(tld, "xn--") {
		return "", false
	}
	return name + ".", true
}

func allDecimal(labels []string) bool {
	for _, l := range labels {
		if n, err := strconv.Atoi(l); err != nil || n < 0 || n > 255 || l == "" {
			return false
		}
	}
	return true
}
