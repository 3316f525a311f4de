package libcontainer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// writeMsg encodes messages without a bootstrap through messageHeader: the
// bytes must be what encoding message itself gives, and messageHeader must
// keep every field of message but the bootstrap.
func TestWriteMsgHeader(t *testing.T) {
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
		h := ht.Field(i)
		if h.Name != f.Name || h.Type != f.Type || h.Tag != f.Tag {
			t.Errorf("messageHeader field %d is %s %v %q, message has %s %v %q", i, h.Name, h.Type, h.Tag, f.Name, f.Type, f.Tag)
		}
	}
	for _, m := range []message{
		{Type: msgReady},
		{Type: msgError, Error: `mount "proc": permission denied`},
		{Type: msgSeccompFD, SeccompFD: 7},
		{Type: msgPty, PtyName: "/dev/pts/3"},
	} {
		var buf bytes.Buffer
		if err := writeMsg(&buf, m); err != nil {
			t.Fatal(err)
		}
		full, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes()[4:]; !bytes.Equal(got, full) {
			t.Errorf("writeMsg(%+v) wrote %s, want %s", m, got, full)
		}
		back, err := readMsg(&buf)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("readMsg gave %+v, %v; want %+v", back, err, m)
		}
	}
}
