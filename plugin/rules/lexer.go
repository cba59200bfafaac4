package rules

// The master file lexer (RFC 1035 section 5.1): it cuts a zone file into entries, one a logical
// line (parentheses join lines), and each entry into tokens. It knows nothing of record types;
// its only job is to find where each entry starts and ends, so that one bad record never takes
// its neighbours with it.

// token is one field of an entry: a word, or the contents of a quoted string (with its escapes
// kept, as the miekg/dns parser expects them).
type token struct {
	text   string
	quoted bool
	// glued says the token starts where the one before it ended, with no blank between: the two
	// are one field of the record (alpn="h2,h3", RFC 9460 2.1), given to miekg/dns as written.
	glued bool
	line  int
}

// scanner reads the entries of one file.
type scanner struct {
	src  string
	pos  int
	line int // line of src[pos]
	end  int // the offset just past the last token read, or -1
}

func newScanner(src string) *scanner { return &scanner{src: src, line: 1, end: -1} }

// entry is one logical line: its tokens, whether its first line starts with blank space (so that
// it has no owner of its own), the line it starts on, and a lexing problem, if any.
type entry struct {
	toks  []token
	blank bool
	line  int
	err   string
}

// next reads the next entry that holds tokens into e (reusing e.toks); it returns false at the end
// of the input.
func (s *scanner) next(e *entry) bool {
	for s.pos < len(s.src) {
		e.toks, e.err = e.toks[:0], ""
		e.line = s.line
		e.blank = s.src[s.pos] == ' ' || s.src[s.pos] == '\t'
		start, startLine := s.pos, s.line
		s.read(e)
		if e.err == errOpenParen {
			// The rest of the file went into the broken entry: start again after its first
			// line, at the next line that starts an entry of its own (an owner name or a
			// directive); the indented lines between are taken to be part of the broken one.
			s.pos, s.line = start, startLine
			s.skipLine()
			for s.pos < len(s.src) && (s.src[s.pos] == ' ' || s.src[s.pos] == '\t' || s.src[s.pos] == ';' || s.src[s.pos] == '\n' || s.src[s.pos] == '\r') {
				s.skipLine()
			}
			return true
		}
		if e.err != "" {
			s.skipLine() // the rest of the line is part of the broken entry
			return true
		}
		if len(e.toks) > 0 {
			return true
		}
	}
	return false
}

func (s *scanner) skipLine() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		s.pos++
		if c == '\n' {
			s.line++
			return
		}
	}
}

// read reads one entry's tokens, up to and including the newline that ends it.
func (s *scanner) read(e *entry) {
	depth := 0
	src := s.src
	for s.pos < len(src) {
		c := src[s.pos]
		switch c {
		case ' ', '\t', '\r':
			s.pos++
		case '\n':
			s.pos++
			s.line++
			if depth == 0 {
				return
			}
		case ';':
			for s.pos < len(src) && src[s.pos] != '\n' {
				s.pos++
			}
		case '(':
			depth++
			s.pos++
		case ')':
			if depth == 0 {
				e.err = "unbalanced parentheses: ')' without '('"
				if e.line != s.line {
					e.err = errOpenParen
				}
				return
			}
			depth--
			s.pos++
		case '"':
			glued := len(e.toks) > 0 && s.pos == s.end
			s.pos++
			start, line := s.pos, s.line
			for {
				if s.pos >= len(src) || src[s.pos] == '\n' {
					e.err = "unterminated quoted string"
					if depth > 0 {
						e.err = errOpenParen // the entry ran on into the lines after it
					}
					return
				}
				if src[s.pos] == '\\' && s.pos+1 < len(src) && src[s.pos+1] != '\n' {
					s.pos += 2
					continue
				}
				if src[s.pos] == '"' {
					break
				}
				s.pos++
			}
			e.toks = append(e.toks, token{text: src[start:s.pos], quoted: true, glued: glued, line: line})
			s.pos++
			s.end = s.pos
		default:
			start := s.pos
			glued := len(e.toks) > 0 && start == s.end
			for s.pos < len(src) {
				c := src[s.pos]
				if c == '\\' && s.pos+1 < len(src) && src[s.pos+1] != '\n' {
					s.pos += 2
					continue
				}
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' || c == ')' || c == '"' {
					break
				}
				s.pos++
			}
			e.toks = append(e.toks, token{text: src[start:s.pos], glued: glued, line: s.line})
			s.end = s.pos
		}
	}
	if depth > 0 {
		e.err = errOpenParen
	}
}

const errOpenParen = "unbalanced parentheses: '(' without ')'"

// tokenize splits text (one entry's data, as $GENERATE builds it) into tokens on line.
func tokenize(text string, line int, toks []token) ([]token, string) {
	s := &scanner{src: text, line: line, end: -1}
	e := entry{toks: toks}
	s.read(&e)
	for s.pos < len(text) && e.err == "" { // newlines outside parentheses: keep reading
		s.read(&e)
	}
	return e.toks, e.err
}
