package libcontainer

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// save keeps state.json whole at every step: the first save renames the
// new file in, later ones exchange it with the previous state, which is
// left at stateTmp to be rewritten; a torn stateTmp from a crash does not
// matter.
func TestSaveExchangesState(t *testing.T) {
	s := store{t.TempDir()}
	if err := os.Mkdir(s.dir("c"), 0o711); err != nil {
		t.Fatal(err)
	}
	ino := func(name string) uint64 {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(s.dir("c"), name), &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	for i, phase := range []string{StatusCreating, StatusCreated, StatusRunning} {
		if err := s.save(&State{ID: "c", Phase: phase, Pid: 100 + i}); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		got, err := s.load("c")
		if err != nil {
			t.Fatal(err)
		}
		if got.Phase != phase || got.Pid != 100+i {
			t.Fatalf("after save %d: state %s pid %d, want %s %d", i, got.Phase, got.Pid, phase, 100+i)
		}
		if fi, err := os.Stat(filepath.Join(s.dir("c"), stateFile)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("state.json: %v, %v", fi, err)
		}
	}
	// A crash between truncating stateTmp and the exchange leaves garbage
	// there; the next save rewrites it.
	if err := os.WriteFile(filepath.Join(s.dir("c"), stateTmp), []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := ino(stateTmp)
	if err := s.save(&State{ID: "c", Phase: StatusStopped}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.load("c"); err != nil || got.Phase != StatusStopped {
		t.Fatalf("after the torn temporary file: %+v, %v", got, err)
	}
	if ino(stateFile) != before {
		t.Log("no RENAME_EXCHANGE here: saved by rename")
	}
}
