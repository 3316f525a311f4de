// Package mountinfo holds what every reader of /proc/*/mountinfo in skiff
// needs: the kernel's escaping of paths.
package mountinfo

import "strings"

// Unescape undoes the octal escapes (\040 for a space, \011 for a tab,
// \012, \134 for a backslash) the kernel writes in mountinfo paths. A
// backslash not followed by three octal digits stays as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctalByte(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isOctalByte: three octal digits that fit in a byte (at most \377).
func isOctalByte(o string) bool {
	return o[0] >= '0' && o[0] <= '3' && o[1] >= '0' && o[1] <= '7' && o[2] >= '0' && o[2] <= '7'
}
