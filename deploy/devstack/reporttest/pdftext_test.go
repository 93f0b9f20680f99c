package reporttest_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// pdfText is the text a PDF shows with the text operators of fpdf's core
// fonts: every content stream inflated (FlateDecode), every string of a
// Tj or TJ decoded from WinAnsi (cp1252), joined by spaces. It is enough to
// read back what go-pdf/fpdf writes, and fails loudly (empty text) on a
// document it cannot read.
func pdfText(doc []byte) string {
	var out []string
	streams := regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`)
	for _, m := range streams.FindAllSubmatch(doc, -1) {
		content := m[1]
		if r, err := zlib.NewReader(bytes.NewReader(content)); err == nil {
			if inflated, err := io.ReadAll(r); err == nil {
				content = inflated
			}
		}
		for _, s := range pdfStrings(content) {
			text, err := charmap.Windows1252.NewDecoder().Bytes(s)
			if err == nil {
				out = append(out, string(text))
			}
		}
	}
	return strings.Join(strings.Fields(strings.Join(out, " ")), " ")
}

// pdfStrings are the literal strings shown by Tj in a content stream,
// their escapes undone.
func pdfStrings(content []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		var s []byte
		depth := 1
		j := i + 1
		for ; j < len(content) && depth > 0; j++ {
			c := content[j]
			switch {
			case c == '\\' && j+1 < len(content):
				j++
				switch e := content[j]; e {
				case 'n':
					s = append(s, '\n')
				case 'r':
					s = append(s, '\r')
				case 't':
					s = append(s, '\t')
				case 'b', 'f':
				default:
					if e >= '0' && e <= '7' {
						v, k := 0, 0
						for ; k < 3 && j+k < len(content) && content[j+k] >= '0' && content[j+k] <= '7'; k++ {
							v = v*8 + int(content[j+k]-'0')
						}
						s = append(s, byte(v))
						j += k - 1
					} else {
						s = append(s, e)
					}
				}
			case c == '(':
				depth++
				s = append(s, c)
			case c == ')':
				depth--
				if depth > 0 {
					s = append(s, c)
				}
			default:
				s = append(s, c)
			}
		}
		rest := bytes.TrimLeft(content[j:], " \r\n")
		if bytes.HasPrefix(rest, []byte("Tj")) || bytes.HasPrefix(rest, []byte("'")) {
			out = append(out, s)
		}
		i = j - 1
	}
	return out
}
