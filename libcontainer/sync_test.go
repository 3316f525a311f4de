package libcontainer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Every message but the bootstrap travels as messageHeader, which must
// keep every other field of message; each kind survives writeMsg and
// readMsg.
func TestSyncMessagesRoundTrip(t *testing.T) {
	mt, ht := reflect.TypeOf(message{}), reflect.TypeOf(messageHeader{})
	var want []reflect.StructField
	for i := 0; i < mt.NumField(); i++ {
		if f := mt.Field(i); f.Name != "Bootstrap" {
			want = append(want, f)
		}
	}
	if len(want) != ht.NumField() {
		t.Fatalf("messageHeader has %d fields, message %d besides Bootstrap", ht.NumField(), len(want))
	}
	for i, f := range want {
		if h := ht.Field(i); h.Name != f.Name || h.Type != f.Type {
			t.Errorf("messageHeader field %d is %s %v, message has %s %v", i, h.Name, h.Type, f.Name, f.Type)
		}
	}
	for _, m := range []message{
		{Type: msgReady},
		{Type: msgError, Error: `mount "proc": permission denied`},
		{Type: msgSeccompFD, SeccompFD: 7},
		{Type: msgPty, PtyName: "/dev/pts/3"},
		{Type: msgBootstrap, Bootstrap: &bootstrap{Mode: "exec", Rootfs: "/r", State: specs.State{ID: "c"}}},
	} {
		var buf bytes.Buffer
		if err := writeMsg(&buf, m); err != nil {
			t.Fatal(err)
		}
		if m.Bootstrap == nil && !json.Valid(buf.Bytes()[4:]) {
			t.Errorf("writeMsg(%+v) wrote %q, not JSON", m, buf.Bytes()[4:])
		}
		back, err := readMsg(&buf)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("readMsg gave %+v, %v; want %+v", back, err, m)
		}
	}
}
