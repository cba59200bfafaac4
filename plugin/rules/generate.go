package rules

// The $GENERATE directive, as BIND expands it.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// maxGenerate bounds the records one $GENERATE line makes.
const maxGenerate = 1 << 20

// generate expands "$GENERATE range lhs [ttl] [class] type rhs" as BIND does: $ in lhs and rhs is
// the counter, ${offset,width,base} formats it (base d, o, x, X, or n and N for reversed nibbles,
// as in ip6.arpa names), \$ and $$ are a literal $.
func (r *reader) generate(toks []token, file string, line int) {
	bad := func(msg string) { r.problem("", file, line, text(toks), msg) }
	if len(toks) < 5 {
		bad("$GENERATE needs a range, an owner, a type and data")
		return
	}
	start, stop, step, ok := generateRange(toks[1].text)
	if !ok {
		bad("bad $GENERATE range " + toks[1].text + " (START-STOP or START-STOP/STEP)")
		return
	}
	if (stop-start)/step >= maxGenerate {
		bad(fmt.Sprintf("$GENERATE range %s makes more than %d records", toks[1].text, maxGenerate))
		return
	}
	var h dns.RR_Header
	i, explicitTTL := header(toks[3:], &h)
	i += 3
	if i+1 >= len(toks) {
		bad("$GENERATE needs a type and data")
		return
	}
	t, ok := typeOf(toks[i].text)
	if !ok {
		bad("unknown RR type '" + toks[i].text + "'")
		return
	}
	h.Rrtype = t
	if !explicitTTL {
		if !r.ttlKnown {
			bad("no TTL, and neither a $TTL nor an earlier TTL or SOA record to take one from")
			return
		}
		h.Ttl = r.ttl
	}
	if i+2 != len(toks) {
		bad("$GENERATE takes the record's data as one token (BIND reads no more): quote it")
		return
	}
	lhs, rhs := toks[2].text, toks[i+1].text
	var data []token
	for v := start; v <= stop; v += step {
		owner, err := substitute(lhs, v)
		if err == nil {
			var o string
			if o, ok = absName(owner, r.origin); !ok {
				err = errors.New("bad owner name " + owner)
			}
			owner = o
		}
		var d string
		if err == nil {
			d, err = substitute(rhs, v)
		}
		if err != nil {
			bad("$GENERATE: " + err.Error())
			return
		}
		var lexErr string
		data, lexErr = tokenize(d, line, data[:0])
		if lexErr != "" {
			bad("$GENERATE: " + lexErr)
			return
		}
		hv := h
		hv.Name = owner
		r.seq++
		r.add(item{hdr: hv, at: r.place(file), line: i32(line), seq: i32(r.seq)}, data)
	}
}

// generateRange reads START-STOP[/STEP].
func generateRange(s string) (start, stop, step int64, ok bool) {
	rng, st, hasStep := strings.Cut(s, "/")
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	stop, err2 = strconv.ParseInt(b, 10, 64)
	step = 1
	if hasStep {
		step, err3 = strconv.ParseInt(st, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || stop < start || step < 1 || stop > 1<<32 {
		return 0, 0, 0, false
	}
	return start, stop, step, true
}

// substitute writes the $GENERATE counter v into tmpl.
func substitute(tmpl string, v int64) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && i+1 < len(tmpl):
			b.WriteByte(c)
			b.WriteByte(tmpl[i+1])
			i++
		case c == '$' && i+1 < len(tmpl) && tmpl[i+1] == '$':
			b.WriteString(`\$`)
			i++
		case c == '$' && i+1 < len(tmpl) && tmpl[i+1] == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("no } in %s", tmpl)
			}
			s, err := modifier(tmpl[i+2:i+end], v)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += end
		case c == '$':
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// modifier formats v by "offset[,width[,base]]".
func modifier(m string, v int64) (string, error) {
	f := strings.Split(m, ",")
	if len(f) > 3 {
		return "", fmt.Errorf("bad modifier ${%s}", m)
	}
	width, base := 0, "d"
	offset, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return "", fmt.Errorf("bad offset in ${%s}", m)
	}
	if len(f) > 1 {
		if width, err = strconv.Atoi(f[1]); err != nil || width < 0 || width > 255 {
			return "", fmt.Errorf("bad width in ${%s}", m)
		}
	}
	if len(f) > 2 {
		base = f[2]
	}
	v += offset
	if v < 0 {
		return "", fmt.Errorf("${%s} makes %d, a negative number", m, v)
	}
	var s string
	switch base {
	case "d":
		s = strconv.FormatInt(v, 10)
	case "o":
		s = strconv.FormatInt(v, 8)
	case "x":
		s = strconv.FormatInt(v, 16)
	case "X":
		s = strings.ToUpper(strconv.FormatInt(v, 16))
	case "n", "N":
		// Reversed nibbles, each followed by a dot but the last; then padded with zero nibbles
		// (and their dots) to the width, which counts the dots.
		hex := strconv.FormatInt(v, 16)
		if base == "N" {
			hex = strings.ToUpper(hex)
		}
		var nb strings.Builder
		for i := len(hex) - 1; i >= 0; i-- {
			nb.WriteByte(hex[i])
			if i > 0 {
				nb.WriteByte('.')
			}
		}
		for nb.Len() < width {
			if nb.String()[nb.Len()-1] == '.' {
				nb.WriteByte('0')
			} else {
				nb.WriteByte('.')
			}
		}
		return nb.String(), nil
	default:
		return "", fmt.Errorf("bad base %q in ${%s}: use d, o, x, X, n or N", base, m)
	}
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s, nil
}
