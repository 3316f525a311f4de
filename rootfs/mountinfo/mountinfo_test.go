package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:            "/plain",
		`/a\040b`:           "/a b",
		`/with\040space`:    "/with space",
		`/t\011`:            "/t\t",
		`/tab\011and\134bs`: "/tab\tand\\bs",
		`/x\134y`:           `/x\y`,
		`/end\040`:          "/end ",
		`/trailing\04`:      `/trailing\04`,
		`/bad\09`:           `/bad\09`,
		`/not\999octal`:     `/not\999octal`,
		`/big\777`:          `/big\777`,
		`\`:                 `\`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
