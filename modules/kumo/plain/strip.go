package plain

// StripComments returns a copy of data in which every comment outside a
// JSON string is replaced by spaces, as KumoMTA's JSON loaders do before
// parsing. Three comment styles are recognised: `/* block */`,
// `// to end of line` and `# to end of line`. Newlines are kept (also inside
// block comments), so byte offsets, lines and columns in the result are
// those of the input.
//
// A `/` outside a string that does not start a comment, and a block
// comment that is never closed, are errors (upstream rejects both too).
// An unterminated string is left for the JSON parser to report.
func StripComments(data []byte) ([]byte, error) {
	out := make([]byte, len(data))
	copy(out, data)
	const (
		top = iota
		inString
		inEscape
		inLine
		inBlock
		blockStar // inside a block comment, just after '*'
	)
	state := top
	blockStart := 0
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch state {
		case top:
			switch c {
			case '"':
				state = inString
			case '#':
				out[i] = ' '
				state = inLine
			case '/':
				if i+1 < len(out) && out[i+1] == '/' {
					out[i], out[i+1] = ' ', ' '
					i++
					state = inLine
				} else if i+1 < len(out) && out[i+1] == '*' {
					out[i], out[i+1] = ' ', ' '
					blockStart = i
					i++
					state = inBlock
				} else {
					line, col := position(data, i)
					return nil, &SyntaxError{Msg: "unexpected '/' (comments are written //, # or /* */)", Line: line, Column: col}
				}
			}
		case inString:
			switch c {
			case '"':
				state = top
			case '\\':
				state = inEscape
			}
		case inEscape:
			state = inString
		case inLine:
			if c == '\n' {
				state = top
			} else {
				out[i] = ' '
			}
		case inBlock, blockStar:
			switch {
			case c == '/' && state == blockStar:
				state = top
			case c == '*':
				state = blockStar
			default:
				state = inBlock
			}
			if c != '\n' {
				out[i] = ' '
			}
		}
	}
	if state == inBlock || state == blockStar {
		line, col := position(data, blockStart)
		return nil, &SyntaxError{Msg: "unterminated /* comment", Line: line, Column: col}
	}
	return out, nil
}
