package rules

// The $ORIGIN, $TTL and $INCLUDE directives of a zone file.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// directive reads a $ORIGIN, $TTL, $INCLUDE or $GENERATE line.
func (r *reader) directive(toks []token, file string, line int) {
	bad := func(msg string) { r.problem("", file, line, text(toks), msg) }
	switch strings.ToUpper(toks[0].text) {
	case "$ORIGIN":
		if len(toks) != 2 {
			bad("$ORIGIN takes one name")
			return
		}
		o, ok := absName(toks[1].text, r.origin)
		if !ok {
			bad("bad $ORIGIN name " + toks[1].text)
			return
		}
		r.origin = o
	case "$TTL":
		if len(toks) != 2 {
			bad("$TTL takes one TTL")
			return
		}
		ttl, ok := parseTTL(toks[1].text)
		if !ok {
			bad("bad $TTL " + toks[1].text)
			return
		}
		r.ttl, r.ttlKnown, r.ttlFixed = ttl, true, true
	case "$INCLUDE":
		r.include(toks, file, line)
	case "$GENERATE":
		r.generate(toks, file, line)
	default:
		bad("unknown directive " + toks[0].text)
	}
}

// include reads an included file, relative to the including file's directory, with the origin
// given or the current one; the origin and the previous owner come back afterwards (RFC 1035
// section 5.1), a $TTL stays (as in BIND). Files outside the zone file's directory are refused.
func (r *reader) include(toks []token, file string, line int) {
	bad := func(msg string) { r.problem("", file, line, text(toks), msg) }
	if len(toks) < 2 || len(toks) > 3 {
		bad("$INCLUDE takes a file name and an optional origin")
		return
	}
	origin := r.origin
	if len(toks) == 3 {
		o, ok := absName(toks[2].text, r.origin)
		if !ok {
			bad("bad $INCLUDE origin " + toks[2].text)
			return
		}
		origin = o
	}
	if r.depth >= maxIncludeDepth {
		bad(fmt.Sprintf("$INCLUDE nested more than %d deep", maxIncludeDepth))
		return
	}
	path, b, err := r.open(toks[1].text, file)
	if err != nil {
		bad("$INCLUDE " + toks[1].text + ": " + err.Error())
		return
	}
	saved, savedOwner, savedTok := r.origin, r.owner, r.ownerTok
	r.origin, r.owner, r.ownerTok = origin, "", ""
	r.depth++
	r.file(bytesString(b), path)
	r.depth--
	r.origin, r.owner, r.ownerTok = saved, savedOwner, savedTok
}

// open reads an included file, found relative to the including file's directory; it must lie
// in or below the zone file's directory (symbolic links included).
func (r *reader) open(name, from string) (string, []byte, error) {
	if r.top == "" {
		return "", nil, errors.New("the zone was not read from a file, so there is no directory to read it from")
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(from), name)
	}
	top := filepath.Dir(r.top)
	rel, err := filepath.Rel(top, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", nil, fmt.Errorf("outside %s, the zone file's directory: refused", top)
	}
	if r.root == nil && r.rootErr == nil {
		r.root, r.rootErr = os.OpenRoot(top)
	}
	if r.rootErr != nil {
		return "", nil, r.rootErr
	}
	b, err := r.root.ReadFile(rel)
	if err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err
		}
		return "", nil, err
	}
	return path, b, nil
}
