package main

// The Corefile tokenizer and parser: CoreDNS's Corefile (the Caddyfile format: server blocks of
// directives, nested blocks, quotes, comments, snippets and {$ENV} placeholders), read here so that
// cnamelint needs no CoreDNS or Caddy package. corezones.go takes the zones and aliases from it.

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ctoken is one Corefile token: a word, or a quoted string's contents.
type ctoken struct {
	text   string
	quoted bool
	line   int
}

// ctokenize cuts a Corefile into tokens: words split by blank space, "..." and `...` quoted (a
// backslash escapes a double quote in "..."), # to the end of the line a comment when it starts a
// word.
func ctokenize(src string) ([]ctoken, error) {
	var toks []ctoken
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case '\n':
			line++
			i++
		case ' ', '\t', '\r':
			i++
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case '"', '`':
			start, startLine := i, line
			var b strings.Builder
			for i++; ; i++ {
				if i >= len(src) {
					return nil, fmt.Errorf("line %d: unterminated quoted string %.20q", startLine, src[start:])
				}
				if src[i] == '\\' && c == '"' && i+1 < len(src) && src[i+1] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				if src[i] == c {
					break
				}
				if src[i] == '\n' {
					line++
				}
				b.WriteByte(src[i])
			}
			i++
			toks = append(toks, ctoken{text: b.String(), quoted: true, line: startLine})
		default:
			start := i
			for i < len(src) && !strings.ContainsRune(" \t\r\n", rune(src[i])) {
				i++
			}
			toks = append(toks, ctoken{text: expandEnv(src[start:i]), line: line})
		}
	}
	return toks, nil
}

var envPlaceholder = regexp.MustCompile(`\{\$([A-Za-z0-9_]+)(?::([^}]*))?\}`)

// expandEnv replaces {$NAME} and {$NAME:default} with the environment's value, as CoreDNS does.
func expandEnv(s string) string {
	if !strings.Contains(s, "{$") {
		return s
	}
	return envPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := envPlaceholder.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(sub[1]); ok {
			return v
		}
		return sub[2]
	})
}

// directive is one line of a block, and the lines of the block that follows it, if any.
type directive struct {
	name  string
	args  []ctoken
	line  int
	block []directive
}

// serverBlock is one server block: its keys (addresses) and directives.
type serverBlock struct {
	keys       []string
	directives []directive
}

// cparser reads tokens into server blocks.
type cparser struct {
	toks     []ctoken
	pos      int
	snippets map[string][]directive
}

func (p *cparser) more() bool     { return p.pos < len(p.toks) }
func (p *cparser) peek() ctoken   { return p.toks[p.pos] }
func (p *cparser) isOpen() bool   { return p.more() && p.peek().text == "{" && !p.peek().quoted }
func (p *cparser) isClose() bool  { return p.more() && p.peek().text == "}" && !p.peek().quoted }
func (p *cparser) next() ctoken   { t := p.toks[p.pos]; p.pos++; return t }
func (p *cparser) sameLine() bool { return p.more() && p.peek().line == p.toks[p.pos-1].line }

// parseCorefile reads the server blocks of a Corefile. Snippets ((name) { ... }) are kept for the
// import lines that name them; an import of files is left out.
func parseCorefile(src string) ([]serverBlock, error) {
	toks, err := ctokenize(src)
	if err != nil {
		return nil, err
	}
	p := &cparser{toks: toks, snippets: map[string][]directive{}}
	var blocks []serverBlock
	for p.more() {
		var keys []string
		line := p.peek().line
		for p.more() && !p.isOpen() {
			t := p.next()
			for k := range strings.SplitSeq(t.text, ",") {
				if k != "" {
					keys = append(keys, k)
				}
			}
			if !p.sameLine() && !strings.HasSuffix(t.text, ",") {
				break
			}
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("line %d: a block without a name", p.peek().line)
		}
		var body []directive
		if p.isOpen() {
			p.next()
			if body, err = p.directives(true); err != nil {
				return nil, err
			}
		} else if len(blocks) == 0 { // one server block without braces: the rest of the file
			if body, err = p.directives(false); err != nil {
				return nil, err
			}
		} else {
			return nil, fmt.Errorf("line %d: %s: a server block needs '{'", line, strings.Join(keys, " "))
		}
		if name, ok := strings.CutPrefix(keys[0], "("); ok && strings.HasSuffix(name, ")") && len(keys) == 1 {
			p.snippets[strings.TrimSuffix(name, ")")] = body
			continue
		}
		blocks = append(blocks, serverBlock{keys: keys, directives: p.imports(body, 0)})
	}
	return blocks, nil
}

// directives reads directive lines up to the closing brace (braced) or the end of the input.
func (p *cparser) directives(braced bool) ([]directive, error) {
	var out []directive
	for {
		if !p.more() {
			if braced {
				return nil, fmt.Errorf("line %d: '{' without '}'", p.toks[p.pos-1].line)
			}
			return out, nil
		}
		if p.isClose() {
			p.next()
			if !braced {
				return nil, fmt.Errorf("line %d: '}' without '{'", p.toks[p.pos-1].line)
			}
			return out, nil
		}
		t := p.next()
		d := directive{name: t.text, line: t.line}
		for p.sameLine() && !p.isOpen() && !p.isClose() {
			d.args = append(d.args, p.next())
		}
		if p.isOpen() && p.peek().line == d.line {
			p.next()
			var err error
			if d.block, err = p.directives(true); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
}

// imports replaces "import SNIPPET" lines with the snippet's directives.
func (p *cparser) imports(ds []directive, depth int) []directive {
	var out []directive
	for _, d := range ds {
		if d.name == "import" && len(d.args) == 1 && depth < 10 {
			if s, ok := p.snippets[d.args[0].text]; ok {
				out = append(out, p.imports(s, depth+1)...)
			}
			continue
		}
		out = append(out, d)
	}
	return out
}
