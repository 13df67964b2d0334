// This file implements SplitArgs, the quote-aware splitter of a -exec command line.

package external

import (
	"errors"
	"strings"
)

// SplitArgs splits a command line into an argument vector the way a POSIX shell splits words,
// without any of a shell's expansions: the result is passed to the operating system directly,
// never to a shell.
//
// Rules:
//
//   - unquoted blanks (space, tab, newline) separate words; runs of them count as one;
//   - '...' quotes everything up to the next ' literally (no escapes inside);
//   - "..." quotes up to the next unescaped "; inside, a backslash escapes only \ " $ and `
//     (and is kept literally before any other character), as in sh;
//   - outside quotes, a backslash makes the next character literal (a backslash-newline pair
//     is removed);
//   - quotes may join a word, as in a'b c'd → "ab cd"; an empty pair of either kind of quotes
//     makes an empty argument;
//   - no variable, tilde, glob or command expansion, no redirection, no pipes, no comments:
//     $HOME, ~, *, >, | and # are ordinary characters.
//
// Special cases are:
//
//	SplitArgs("")           = nil, error (no command)
//	SplitArgs(`a 'b`)       = nil, error (unterminated quote)
//	SplitArgs(`a \`)        = nil, error (trailing backslash)
func SplitArgs(s string) ([]string, error) {
	var args []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				args = append(args, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("external: unterminated ' in command")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("external: unterminated \" in command")
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("external: trailing backslash in command")
			}
			i++
			if s[i] != '\n' {
				w.WriteByte(s[i])
				inWord = true
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, w.String())
	}
	if len(args) == 0 {
		return nil, errors.New("external: empty command")
	}
	return args, nil
}
