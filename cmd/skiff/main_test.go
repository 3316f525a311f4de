package main

import "testing"

func TestMovesIntoCgroup(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"run", "-b", "x", "id"}, true},
		{[]string{"--root", "/r", "create", "id"}, true},
		{[]string{"--log", "l", "exec", "-t", "id", "sh"}, true},
		{[]string{"state", "id"}, false},
		{[]string{"delete", "--force", "id"}, false},
		{[]string{"list"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := movesIntoCgroup(tc.args); got != tc.want {
			t.Errorf("%q: got %v", tc.args, got)
		}
	}
}
